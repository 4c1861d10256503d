#pragma once

#include <cstddef>
#include <cstdint>

namespace cmp_edge {

// Reverses PNG filtering (filter types 0-4) of `height` scanlines, each one
// filter byte plus width * bpp bytes, into out (height x width * bpp).
// std::invalid_argument for a wrong data size or an unknown filter type.
// Throws std::invalid_argument unless height, width >= 1, 1 <= bpp <= 8 and
// size == height * (width * bpp + 1) without overflow. Call it before
// allocating the output of png_unfilter.
void check_png_geometry(size_t size, int64_t height, int64_t width, int bpp);

void png_unfilter(const uint8_t* data, size_t size, int64_t height, int64_t width, int bpp,
                  uint8_t* out);

}  // namespace cmp_edge
