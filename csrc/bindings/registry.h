// Registration functions, one per component (bindings/<component>_py.cc).
#pragma once

#include <pybind11/pybind11.h>

namespace cmp_edge {

void register_log_mel(pybind11::module_& m);         // bindings/log_mel_py.cc
void register_online_log_mel(pybind11::module_& m);  // bindings/online_log_mel_py.cc
void register_bfm_recon(pybind11::module_& m);       // bindings/bfm_recon_py.cc
void register_render(pybind11::module_& m);          // bindings/render_py.cc

}  // namespace cmp_edge
