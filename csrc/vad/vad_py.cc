// Python binding of the native VAD loop (vad/vad_loop.h): cmp_edge._C.VadLoop.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "registry.h"
#include "common/check.h"
#include "vad/vad_loop.h"

#ifndef _WIN32
#include <dlfcn.h>
#endif

namespace py = pybind11;

namespace cmp_edge {

namespace {

// The loop plus the Python objects that keep the VAD instance alive.
struct PyVadLoop {
  py::object vad_capsule;
  VadLoop loop;
};

VadProcessFn resolve_process(const std::string& library) {
#ifdef _WIN32
  // Not implemented on Windows: Python falls back to its own loop.
  CMP_CHECK_ARG(false, "VadLoop: not available on Windows (", library, ")");
  return nullptr;
#else
  // The webrtcvad extension is already loaded by Python: RTLD_NOLOAD returns it
  // (and never loads a second copy).
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_NOLOAD);
  CMP_CHECK_ARG(handle != nullptr, "VadLoop: ", library, " is not loaded");
  void* sym = dlsym(handle, "WebRtcVad_Process");
  dlclose(handle);  // the module stays loaded: Python holds its own reference
  CMP_CHECK_ARG(sym != nullptr, "VadLoop: ", library, " does not export WebRtcVad_Process");
  return reinterpret_cast<VadProcessFn>(sym);
#endif
}

}  // namespace

void register_vad(py::module_& m) {
  py::class_<PyVadLoop>(m, "VadLoop",
                        "The published WebRTC VAD loop (ring of 2 frames, every ring frame "
                        "asked at every step) run natively on webrtcvad's own instance.")
      .def(py::init([](const py::capsule& vad, const std::string& library) {
             CMP_CHECK_ARG(vad.name() != nullptr && std::string(vad.name()) == "WebRtcVadPtr",
                           "VadLoop: expected the capsule of a webrtcvad.Vad (its _vad)");
             void* instance = vad.get_pointer();
             return new PyVadLoop{vad, VadLoop(resolve_process(library), instance)};
           }),
           py::arg("vad"), py::arg("library"),
           "vad: webrtcvad.Vad()._vad (mode already set); library: the file of the loaded "
           "_webrtcvad extension module.")
      .def(
          "accept",
          [](PyVadLoop& self, const py::array_t<float, py::array::c_style>& samples,
             int64_t n_frames) {
            CMP_CHECK_ARG(samples.ndim() == 1, "accept: samples must be 1-D");
            CMP_CHECK_ARG(n_frames >= 0 && n_frames * VadLoop::kFrame <= samples.shape(0),
                          "accept: n_frames=", n_frames, " needs more than ", samples.shape(0),
                          " samples");
            std::vector<std::pair<int64_t, int64_t>> voiced, segments;
            {
              const float* data = samples.data();
              py::gil_scoped_release release;
              self.loop.accept(data, n_frames, voiced, segments);
            }
            return std::make_pair(voiced, segments);
          },
          py::arg("samples"), py::arg("n_frames"),
          "Run the first n_frames 320-sample frames of float32 16 kHz samples; returns "
          "(voiced, segments): global frame ranges [a, b) that became voiced and closed "
          "segments, both as lists of (start, end). Releases the GIL.")
      .def_property_readonly("triggered", [](const PyVadLoop& s) { return s.loop.triggered(); })
      .def_property_readonly("start", [](const PyVadLoop& s) { return s.loop.start(); })
      .def_property_readonly("frames_seen",
                             [](const PyVadLoop& s) { return s.loop.frames_seen(); });
}

}  // namespace cmp_edge
