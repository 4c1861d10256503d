// Python bindings for the fused 3DMM reconstruction (bfm_recon.h).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "recon/bfm_recon.h"
#include "registry.h"
#include "common/check.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace cmp_edge {
namespace {

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;

struct Checked {
  int64_t n_vertices;
  int64_t n_components;
};

// Validates mean (N, 3) and basis (3N, K).
Checked check_model(const F32& mean, const F32& basis) {
  CMP_CHECK_ARG(mean.ndim() == 2 && mean.shape(1) == 3 && mean.shape(0) > 0,
                "mean must have shape (N, 3) with N > 0");
  const int64_t n = mean.shape(0);
  CMP_CHECK_ARG(basis.ndim() == 2 && basis.shape(0) == 3 * n,
                "basis must have shape (3N, K) = (", 3 * n, ", K)");
  return {n, static_cast<int64_t>(basis.shape(1))};
}

// Validates one reconstruct call's arrays; returns (batch, k_used).
std::pair<int64_t, int64_t> check_call(int64_t n_vertices, int64_t n_components,
                                       const F32& coeffs, const F32& scale, const F32& rotation,
                                       const F32& translation, const py::array& out) {
  CMP_CHECK_ARG(coeffs.ndim() == 2, "coeffs must have shape (B, K)");
  const int64_t batch = coeffs.shape(0), k_used = coeffs.shape(1);
  CMP_CHECK_ARG(k_used <= n_components, k_used, " coefficients given, the basis has ",
                n_components);
  CMP_CHECK_ARG(scale.ndim() == 1 && scale.shape(0) == batch, "scale must have shape (B,)");
  CMP_CHECK_ARG(rotation.ndim() == 3 && rotation.shape(0) == batch && rotation.shape(1) == 3 &&
                    rotation.shape(2) == 3,
                "rotation must have shape (B, 3, 3)");
  CMP_CHECK_ARG(translation.ndim() == 2 && translation.shape(0) == batch &&
                    translation.shape(1) == 3,
                "translation must have shape (B, 3)");
  CMP_CHECK_ARG(out.dtype().is(py::dtype::of<float>()), "out must be float32");
  CMP_CHECK_ARG((out.flags() & py::array::c_style) != 0, "out must be C-contiguous");
  CMP_CHECK_ARG(out.writeable(), "out must be writable");
  CMP_CHECK_ARG(out.ndim() == 3 && out.shape(0) == batch && out.shape(1) == n_vertices &&
                    out.shape(2) == 3,
                "out must have shape (B, N, 3) = (", batch, ", ", n_vertices, ", 3)");
  return {batch, k_used};
}

// Checks the call's arrays against the basis, then runs basis.reconstruct(..., extra...)
// without the GIL; shared by the CPU and the CUDA basis.
template <class Basis, class... Extra>
void reconstruct_into(const Basis& basis, const F32& coeffs, const F32& scale,
                      const F32& rotation, const F32& translation, py::array& out,
                      Extra... extra) {
  const auto [batch, k_used] = check_call(basis.n_vertices(), basis.n_components(), coeffs,
                                          scale, rotation, translation, out);
  float* dst = static_cast<float*>(out.mutable_data());
  py::gil_scoped_release release;
  basis.reconstruct(coeffs.data(), batch, k_used, scale.data(), rotation.data(),
                    translation.data(), dst, extra...);
}

}  // namespace

void register_bfm_recon(py::module_& m) {
  m.def("recon_cpu_isa", &recon_cpu_isa,
        "The CPU kernel chosen at run time for ReconBasis: 'avx2-fma-f16c' or 'baseline'.");
  m.def("float_to_half_bits", [](float f) { return float_to_half(f); }, "value"_a,
        "IEEE binary16 bits of a float (round to nearest even); for tests.");
  m.def("half_bits_to_float", [](uint16_t h) { return half_to_float(h); }, "bits"_a,
        "The float value of IEEE binary16 bits; for tests.");

  py::class_<ReconBasis>(m, "ReconBasis",
                         "A 3DMM basis packed for the fused CPU kernel (float32 or half).")
      .def(py::init([](const F32& mean, const F32& basis, bool half, bool portable) {
             const Checked c = check_model(mean, basis);
             return std::make_unique<ReconBasis>(mean.data(), basis.data(), c.n_vertices,
                                                 c.n_components, half, portable);
           }),
           "mean"_a, "basis"_a, "half"_a = false, "portable"_a = false,
           "mean (N, 3) float32; basis (3N, K) float32, xyz interleaved rows; half stores the "
           "basis as binary16 with one scale per component; portable forces the baseline "
           "kernel (for tests).")
      .def_property_readonly("n_vertices", &ReconBasis::n_vertices)
      .def_property_readonly("n_components", &ReconBasis::n_components)
      .def_property_readonly("half", &ReconBasis::half)
      .def_property_readonly("portable", &ReconBasis::portable)
      .def_property_readonly("nbytes", &ReconBasis::nbytes)
      .def(
          "reconstruct",
          [](const ReconBasis& self, const F32& coeffs, const F32& scale, const F32& rotation,
             const F32& translation, py::array& out, int threads) {
            reconstruct_into(self, coeffs, scale, rotation, translation, out, threads);
          },
          "coeffs"_a, "scale"_a, "rotation"_a, "translation"_a, "out"_a, "threads"_a = 0,
          "out[b] = scale[b] * rotation[b] @ (mean + basis[:, :k] @ coeffs[b]) + translation[b] "
          "for coeffs (B, k), written into out (B, N, 3) float32. threads <= 0: all cores. "
          "Releases the GIL.");

  py::class_<CudaReconBasis>(m, "CudaReconBasis",
                             "A 3DMM basis resident on a CUDA device (float32 or half).")
      .def(py::init([](const F32& mean, const F32& basis, bool half, int device) {
             const Checked c = check_model(mean, basis);
             return std::make_unique<CudaReconBasis>(mean.data(), basis.data(), c.n_vertices,
                                                     c.n_components, half, device);
           }),
           "mean"_a, "basis"_a, "half"_a = false, "device"_a = 0,
           "Uploads the basis; raises RuntimeError without CUDA support or device.")
      .def_property_readonly("n_vertices", &CudaReconBasis::n_vertices)
      .def_property_readonly("n_components", &CudaReconBasis::n_components)
      .def_property_readonly("half", &CudaReconBasis::half)
      .def_property_readonly("device", &CudaReconBasis::device)
      .def(
          "reconstruct",
          [](const CudaReconBasis& self, const F32& coeffs, const F32& scale,
             const F32& rotation, const F32& translation, py::array& out, int /*threads*/) {
            reconstruct_into(self, coeffs, scale, rotation, translation, out);
          },
          "coeffs"_a, "scale"_a, "rotation"_a, "translation"_a, "out"_a, "threads"_a = 0,
          "Same as ReconBasis.reconstruct, computed on the device (host arrays in and out; "
          "threads is ignored). Releases the GIL.");
}

}  // namespace cmp_edge
