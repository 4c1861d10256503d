// Python bindings for the rasteriser (render/render.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "common/check.h"
#include "common/py_mesh_args.h"
#include "registry.h"
#include "render/render.h"

namespace py = pybind11;

namespace cmp_edge {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

int64_t render_mesh_into_py(py::array image, const FloatArray& vertices,
                            const IntArray& triangles, const py::object& colors,
                            const FloatArray& rotation, float scale,
                            const FloatArray& translation, const FloatArray& light_dir,
                            float ambient, float alpha, const FloatArray& base_color,
                            const py::object& depth, int threads) {
  CMP_CHECK_ARG(image.dtype().is(py::dtype::of<uint8_t>()), "image must be uint8");
  CMP_CHECK_ARG(image.ndim() == 3 && image.shape(2) == 3, "image must have shape (H, W, 3)");
  CMP_CHECK_ARG((image.flags() & py::array::c_style) != 0 && image.writeable(),
                "image must be C-contiguous and writeable");
  const int64_t h = image.shape(0), w = image.shape(1);
  CMP_CHECK_ARG(h > 0 && w > 0 && h <= 65536 && w <= 65536, "image size must be 1..65536");
  check_rows3(vertices, "vertices");
  check_rows3(triangles, "triangles");
  CMP_CHECK_ARG(rotation.ndim() == 2 && rotation.shape(0) == 3 && rotation.shape(1) == 3,
                "rotation must have shape (3, 3)");
  RenderParams p;
  for (int k = 0; k < 9; ++k) p.rotation[k] = rotation.data()[k];
  p.scale = scale;
  copy3(translation, p.translation, "translation");
  copy3(light_dir, p.light_dir, "light_dir");
  copy3(base_color, p.base_color, "base_color");
  p.ambient = ambient;
  p.alpha = alpha;
  p.threads = threads;
  FloatArray col;
  const float* colp = vertex_colors(colors, vertices.shape(0), col);
  float* depth_ptr = nullptr;
  py::array_t<float> depth_arr;
  if (!depth.is_none()) {
    CMP_CHECK_ARG(py::isinstance<py::array_t<float>>(depth), "depth must be a float32 array");
    depth_arr = depth.cast<py::array_t<float>>();
    CMP_CHECK_ARG(depth_arr.ndim() == 2 && depth_arr.shape(0) == h && depth_arr.shape(1) == w &&
                      (depth_arr.flags() & py::array::c_style) != 0 && depth_arr.writeable(),
                  "depth must be a writeable C-contiguous float32 (H, W) array");
    depth_ptr = depth_arr.mutable_data();
  }
  uint8_t* img = static_cast<uint8_t*>(image.mutable_data());
  py::gil_scoped_release release;
  return render_mesh(vertices.data(), vertices.shape(0), triangles.data(), triangles.shape(0),
                     colp, p, img, static_cast<int>(h), static_cast<int>(w), depth_ptr);
}

}  // namespace

void register_render(py::module_& m) {
  m.def("render_mesh_into", &render_mesh_into_py, py::arg("image"), py::arg("vertices"),
        py::arg("triangles"), py::arg("colors"), py::arg("rotation"), py::arg("scale"),
        py::arg("translation"), py::arg("light_dir"), py::arg("ambient"), py::arg("alpha"),
        py::arg("base_color"), py::arg("depth") = py::none(), py::arg("threads") = 1,
        "Z-buffer render of a triangle mesh into image (H, W, 3) uint8, in place.\n\n"
        "view = scale * rotation @ v + translation (x right, y up, z toward the viewer, "
        "pixels); column = view.x, row = H - view.y. Lambertian, two-sided, per-pixel "
        "normals; colors (N, 3) float in [0, 1] or None (base_color). depth: optional "
        "float32 (H, W) output (-inf where empty). Returns the number of covered pixels.");
}

}  // namespace cmp_edge
