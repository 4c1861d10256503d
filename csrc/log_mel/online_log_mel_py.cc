// Python bindings for the streaming log-mel (csrc/online_log_mel.h): cmp_edge._C.OnlineLogMel.
#include <pybind11/numpy.h>

#include <cmath>
#include <string>

#include "registry.h"
#include "log_mel/signal_arg.h"
#include "common/check.h"
#include "log_mel/online_log_mel.h"

namespace py = pybind11;

namespace cmp_edge {

void register_online_log_mel(py::module_& m) {
  py::class_<OnlineLogMel>(m, "OnlineLogMel",
                           "Streaming CMP log-mel; frames equal LogMel.compute for any chunking.")
      .def(py::init([](int sample_rate, int n_mels, double f_min, double f_max, int n_fft,
                       int win_length, int hop_length, double preemphasis,
                       const std::string& window, double floor) {
             return new OnlineLogMel(make_log_mel_config(sample_rate, n_mels, f_min, f_max, n_fft,
                                                         win_length, hop_length, preemphasis,
                                                         window, floor));
           }),
           py::kw_only(), py::arg("sample_rate") = 16000, py::arg("n_mels") = 64,
           py::arg("f_min") = 20.0, py::arg("f_max") = 7200.0, py::arg("n_fft") = 1024,
           py::arg("win_length") = 400, py::arg("hop_length") = 160,
           py::arg("preemphasis") = 0.97, py::arg("window") = "hamming",
           py::arg("floor") = 1e-5)
      .def(
          "accept_waveform",
          [](OnlineLogMel& s, const py::object& samples, double scale) {
            const py::array_t<float> x = signal_arg(samples, "samples");
            CMP_CHECK_ARG(std::isfinite(scale) && scale > 0, "scale must be finite and > 0");
            const float* data = x.data();
            const int64_t n = x.shape(0);
            py::gil_scoped_release release;
            s.accept_waveform(data, n, static_cast<float>(scale));
          },
          py::arg("samples"), py::arg("scale") = 1.0,
          "Append a 1-D chunk (each sample times `scale`); computes the frames it completes.")
      .def(
          "input_finished",
          [](OnlineLogMel& s) {
            py::gil_scoped_release release;
            s.input_finished();
          },
          "End of input: compute the cyclically filled tail frames. Idempotent.")
      .def_property_readonly("num_frames_ready", &OnlineLogMel::num_frames_ready,
                             "Absolute number of frames computed (popped ones included).")
      .def_property_readonly("first_frame", &OnlineLogMel::first_frame,
                             "Index of the oldest frame still held.")
      .def_property_readonly("num_samples", &OnlineLogMel::num_samples,
                             "Samples accepted so far.")
      .def_property_readonly("is_finished", &OnlineLogMel::is_finished)
      .def(
          "get_frames",
          [](const OnlineLogMel& s, int64_t start, int64_t n) {
            CMP_CHECK_INDEX(n >= 0, "get_frames: n=", n, " must be >= 0");
            const int64_t ready = s.num_frames_ready();
            CMP_CHECK_INDEX(start >= 0 && start <= ready && n <= ready - start, "get_frames(",
                            start, ", ", n, ") is outside the held frames [", s.first_frame(),
                            ", ", ready, ")");
            py::array_t<float> out({n, static_cast<int64_t>(s.plan().n_mels())});
            s.get_frames(start, n, out.mutable_data());
            return out;
          },
          py::arg("start"), py::arg("n"),
          "Copy of frames [start, start + n) as (n, n_mels) float32 (absolute indices).")
      .def("pop", &OnlineLogMel::pop, py::arg("n"),
           "Release the n oldest held frames; indices of the others do not change.")
      .def("__repr__", [](const OnlineLogMel& s) {
        return "OnlineLogMel(frames_ready=" + std::to_string(s.num_frames_ready()) +
               ", first_frame=" + std::to_string(s.first_frame()) +
               ", finished=" + (s.is_finished() ? std::string("True") : std::string("False")) +
               ", " + s.plan().config().repr() + ")";
      });
}

}  // namespace cmp_edge
