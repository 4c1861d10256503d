// Argument checks shared by the mesh bindings (rasteriser, OBJ text).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

#include "common/check.h"

namespace cmp_edge {

namespace py = pybind11;

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

inline void check_rows3(const py::array& a, const char* name) {
  CMP_CHECK_ARG(a.ndim() == 2 && a.shape(1) == 3, name, " must have shape (n, 3), got ndim ",
                a.ndim());
}

// Optional per-vertex colours: None -> nullptr, else a checked (N, 3) float array kept
// alive in `holder` (N = number of vertices).
inline const float* vertex_colors(const py::object& colors, py::ssize_t n, FloatArray& holder) {
  if (colors.is_none()) return nullptr;
  holder = FloatArray::ensure(colors);
  CMP_CHECK_ARG(holder, "colors must be a float array");
  check_rows3(holder, "colors");
  CMP_CHECK_ARG(holder.shape(0) == n, "colors must have one row per vertex (", n, "), got ",
                holder.shape(0));
  return holder.data();
}

inline void copy3(const FloatArray& src, float* dst, const char* name) {
  CMP_CHECK_ARG(src.ndim() == 1 && src.shape(0) == 3, name, " must have 3 values");
  for (int k = 0; k < 3; ++k) dst[k] = src.data()[k];
}

}  // namespace cmp_edge
