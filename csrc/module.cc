// The cmp_edge._C extension module: one registration function per component,
// each defined in <operation>/<name>_py.cc.
#include <pybind11/pybind11.h>

#include "registry.h"
#include "common/cuda_info.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
  m.doc() = "cmp-edge native core: speech frontend, 3DMM reconstruction, rasteriser.";
  m.def("has_cuda", &cmp_edge::built_with_cuda,
        "True when the extension was built with CUDA kernels (a build-time fact).");
  m.def("cuda_device_count", &cmp_edge::cuda_device_count,
        "Number of usable CUDA devices right now (0 without driver or GPU). Never raises.");
  cmp_edge::register_log_mel(m);
  cmp_edge::register_online_log_mel(m);
  cmp_edge::register_bfm_recon(m);
  cmp_edge::register_render(m);
  cmp_edge::register_obj(m);
  cmp_edge::register_png(m);
  cmp_edge::register_vad(m);
}
