// Registration functions, one per operation (<operation>/<name>_py.cc).
#pragma once

#include <pybind11/pybind11.h>

namespace cmp_edge {

void register_log_mel(pybind11::module_& m);         // log_mel/log_mel_py.cc
void register_online_log_mel(pybind11::module_& m);  // log_mel/online_log_mel_py.cc
void register_bfm_recon(pybind11::module_& m);       // recon/bfm_recon_py.cc
void register_render(pybind11::module_& m);          // render/render_py.cc
void register_obj(pybind11::module_& m);             // obj/obj_py.cc
void register_png(pybind11::module_& m);             // png/png_py.cc
void register_vad(pybind11::module_& m);             // vad/vad_py.cc

}  // namespace cmp_edge
