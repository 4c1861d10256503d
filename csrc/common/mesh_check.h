// Index checks shared by the mesh operations (rasteriser, OBJ text).
#pragma once

#include <cstdint>

#include "common/check.h"

namespace cmp_edge {

// std::out_of_range unless every index of the n_triangles x 3 list lies in [0, n_vertices).
inline void check_triangles(const int32_t* triangles, int64_t n_triangles, int64_t n_vertices) {
  for (int64_t k = 0; k < 3 * n_triangles; ++k) {
    const int32_t idx = triangles[k];
    CMP_CHECK_INDEX(idx >= 0 && idx < n_vertices, "triangle ", k / 3, " refers to vertex ", idx,
                    " but the mesh has ", n_vertices, " vertices");
  }
}

}  // namespace cmp_edge
