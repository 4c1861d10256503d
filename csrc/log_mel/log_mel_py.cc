// Python bindings for the batch log-mel (csrc/log_mel.h): cmp_edge._C.LogMel.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <string>

#include "registry.h"
#include "log_mel/signal_arg.h"
#include "common/check.h"
#include "log_mel/log_mel.h"

namespace py = pybind11;

namespace cmp_edge {

LogMelConfig make_log_mel_config(int sample_rate, int n_mels, double f_min, double f_max,
                                 int n_fft, int win_length, int hop_length, double preemphasis,
                                 const std::string& window, double floor) {
  LogMelConfig c;
  c.sample_rate = sample_rate;
  c.n_mels = n_mels;
  c.f_min = f_min;
  c.f_max = f_max;
  c.n_fft = n_fft;
  c.win_length = win_length;
  c.hop_length = hop_length;
  c.preemphasis = preemphasis;
  c.window = window;
  c.floor = floor;
  c.validate();
  return c;
}

std::unique_ptr<LogMelPlan> make_log_mel_plan(const LogMelConfig& config,
                                              const std::string& isa,
                                              const std::string& precision) {
  CMP_CHECK_ARG(isa == "auto" || isa == "generic" || isa == "avx2+fma", "isa='", isa,
                "' must be 'auto', 'generic' or 'avx2+fma'");
  CMP_CHECK_ARG(precision == "auto" || precision == "float32" || precision == "float64",
                "precision='", precision, "' must be 'auto', 'float32' or 'float64'");
  const Isa i = isa == "auto" ? best_isa() : isa == "generic" ? Isa::kGeneric : Isa::kAvx2;
  const Precision p = precision == "auto"      ? default_precision()
                      : precision == "float32" ? Precision::kFloat32
                                               : Precision::kFloat64;
  return std::make_unique<LogMelPlan>(config, i, p);
}

py::array_t<float> signal_arg(const py::handle& obj, const char* what) {
  CMP_CHECK_ARG(py::isinstance<py::array>(obj), what, " must be a NumPy array");
  const auto arr = py::reinterpret_borrow<py::array>(obj);
  const char kind = arr.dtype().kind();
  CMP_CHECK_ARG(kind == 'f' || kind == 'i' || kind == 'u', what,
                " must be a real numeric array, not dtype ", std::string(py::str(arr.dtype())));
  CMP_CHECK_ARG(arr.ndim() == 1, what, " must be 1-D, got ", arr.ndim(), " dimensions");
  return py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arr);
}

void register_log_mel(py::module_& m) {
  py::class_<LogMelPlan>(m, "LogMel",
                         "Batch CMP log-mel with precomputed tables (spec section 1).")
      .def(py::init([](int sample_rate, int n_mels, double f_min, double f_max, int n_fft,
                       int win_length, int hop_length, double preemphasis,
                       const std::string& window, double floor, const std::string& isa,
                       const std::string& precision) {
             return make_log_mel_plan(make_log_mel_config(sample_rate, n_mels, f_min, f_max,
                                                          n_fft, win_length, hop_length,
                                                          preemphasis, window, floor),
                                      isa, precision);
           }),
           py::kw_only(), py::arg("sample_rate") = 16000, py::arg("n_mels") = 64,
           py::arg("f_min") = 20.0, py::arg("f_max") = 7200.0, py::arg("n_fft") = 1024,
           py::arg("win_length") = 400, py::arg("hop_length") = 160,
           py::arg("preemphasis") = 0.97, py::arg("window") = "hamming",
           py::arg("floor") = 1e-5, py::arg("isa") = "auto", py::arg("precision") = "auto")
      .def(
          "compute",
          [](const LogMelPlan& plan, const py::object& samples, double scale, int threads) {
            const py::array_t<float> x = signal_arg(samples, "samples");
            CMP_CHECK_ARG(std::isfinite(scale) && scale > 0, "scale must be finite and > 0");
            CMP_CHECK_ARG(threads >= 1, "threads must be >= 1, got ", threads);
            const int64_t n = x.shape(0);
            const float* data = x.data();
            const int64_t bad = first_non_finite(data, n);
            CMP_CHECK_ARG(bad < 0, "samples contain NaN or Inf (first at index ", bad, ")");
            const int64_t frames = plan.num_frames(n);
            py::array_t<float> out({frames, static_cast<int64_t>(plan.n_mels())});
            float* dst = out.mutable_data();
            {
              py::gil_scoped_release release;
              plan.compute(data, n, static_cast<float>(scale), dst, threads);
            }
            return out;
          },
          py::arg("samples"), py::arg("scale") = 1.0, py::arg("threads") = 1,
          "Log-mel of a 1-D signal (each sample times `scale`): (n // hop + 1, n_mels) float32.")
      .def("num_frames", &LogMelPlan::num_frames, py::arg("n_samples"),
           "Frames produced for n_samples samples: n_samples // hop_length + 1.")
      .def_property_readonly("n_mels", &LogMelPlan::n_mels)
      .def_property_readonly("isa", [](const LogMelPlan& p) { return isa_name(p.isa()); },
                             "Instruction set of the kernel: 'avx2+fma' or 'generic'.")
      .def_property_readonly(
          "precision", [](const LogMelPlan& p) { return precision_name(p.precision()); },
          "Arithmetic of the kernel: 'float32' or 'float64'.")
      .def("__repr__", [](const LogMelPlan& p) {
        return "LogMel(" + p.config().repr() + ", isa='" + isa_name(p.isa()) + "', precision='" +
               precision_name(p.precision()) + "')";
      });
  m.def("log_mel_best_isa", [] { return std::string(isa_name(best_isa())); },
        "The instruction set the log-mel kernels use on this CPU by default.");
}

}  // namespace cmp_edge
