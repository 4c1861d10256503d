// Python binding of the OBJ text formatter (obj/obj.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "common/py_mesh_args.h"
#include "obj/obj.h"
#include "registry.h"

namespace py = pybind11;

namespace cmp_edge {
namespace {

using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

py::bytes format_obj_py(const FloatArray& vertices, const IntArray& triangles,
                        const py::object& colors) {
  check_rows3(vertices, "vertices");
  check_rows3(triangles, "triangles");
  FloatArray col;
  const float* colp = vertex_colors(colors, vertices.shape(0), col);
  std::string text;
  {
    py::gil_scoped_release release;
    text = format_obj(vertices.data(), vertices.shape(0), triangles.data(), triangles.shape(0),
                      colp);
  }
  return py::bytes(text);
}

}  // namespace

void register_obj(py::module_& m) {
  m.def("format_obj", &format_obj_py, py::arg("vertices"), py::arg("triangles"),
        py::arg("colors") = py::none(),
        "Wavefront OBJ text (bytes): 'v x y z [r g b]' and 'f a b c' (1-based) lines, "
        "shortest round-trip float32 decimals.");
}

}  // namespace cmp_edge
