#pragma once

#include <cstdint>
#include <string>

namespace cmp_edge {

// Wavefront OBJ text: "v x y z[ r g b]" lines (shortest round-trip float32
// decimal; colours are the given floats) then "f a b c" lines with 1-based
// indices. colors may be null.
std::string format_obj(const float* vertices, int64_t n_vertices, const int32_t* triangles,
                       int64_t n_triangles, const float* colors);

}  // namespace cmp_edge
