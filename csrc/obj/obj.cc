// Wavefront OBJ text formatting (see obj.h).
#include "obj/obj.h"

#include <charconv>
#include <cmath>

#include "common/check.h"
#include "common/mesh_check.h"

namespace cmp_edge {

std::string format_obj(const float* vertices, int64_t n_vertices, const int32_t* triangles,
                       int64_t n_triangles, const float* colors) {
  CMP_CHECK_ARG(n_vertices >= 0 && n_triangles >= 0, "negative mesh size");
  check_triangles(triangles, n_triangles, n_vertices);
  for (int64_t k = 0; k < 3 * n_vertices; ++k)
    CMP_CHECK_ARG(std::isfinite(vertices[k]), "vertex ", k / 3, " is not finite");
  // Upper bounds: a float32 in shortest form takes at most 15 characters, an
  // index at most 11; plus the separators.
  const size_t per_vertex = 2 + 3 * 16 + (colors ? 3 * 16 : 0) + 1;
  const size_t per_face = 2 + 3 * 12 + 1;
  std::string out;
  out.resize(static_cast<size_t>(n_vertices) * per_vertex +
             static_cast<size_t>(n_triangles) * per_face + 1);
  char* p = out.data();
  char* const end = out.data() + out.size();
  for (int64_t i = 0; i < n_vertices; ++i) {
    *p++ = 'v';
    for (int k = 0; k < 3; ++k) {
      *p++ = ' ';
      p = std::to_chars(p, end, vertices[3 * i + k]).ptr;
    }
    if (colors) {
      for (int k = 0; k < 3; ++k) {
        *p++ = ' ';
        p = std::to_chars(p, end, colors[3 * i + k]).ptr;
      }
    }
    *p++ = '\n';
  }
  for (int64_t t = 0; t < n_triangles; ++t) {
    *p++ = 'f';
    for (int k = 0; k < 3; ++k) {
      *p++ = ' ';
      p = std::to_chars(p, end, static_cast<int64_t>(triangles[3 * t + k]) + 1).ptr;
    }
    *p++ = '\n';
  }
  out.resize(static_cast<size_t>(p - out.data()));
  return out;
}

}  // namespace cmp_edge
