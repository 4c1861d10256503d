// PNG scanline unfiltering (see png.h).
#include "png/png.h"

#include <cstdlib>
#include <cstring>

#include "common/check.h"

namespace cmp_edge {

void check_png_geometry(size_t size, int64_t height, int64_t width, int bpp) {
  CMP_CHECK_ARG(height > 0 && width > 0 && bpp >= 1 && bpp <= 8, "bad PNG geometry ", height,
                " x ", width, " x ", bpp);
  // size >= height * (width * bpp + 1) > width * bpp and > height: compare in
  // steps that cannot overflow (each factor is bounded by size first).
  const auto h = static_cast<uint64_t>(height), w = static_cast<uint64_t>(width);
  const uint64_t total = static_cast<uint64_t>(size);
  CMP_CHECK_ARG(w <= total / static_cast<uint64_t>(bpp) && h <= total,
                "PNG image data has ", size, " bytes, too few for ", height, " x ", width,
                " x ", bpp);
  const uint64_t row = w * static_cast<uint64_t>(bpp) + 1;
  CMP_CHECK_ARG(total % row == 0 && total / row == h, "PNG image data has ", size,
                " bytes after decompression, expected ", height, " rows of ", row);
}

void png_unfilter(const uint8_t* data, size_t size, int64_t height, int64_t width, int bpp,
                  uint8_t* out) {
  check_png_geometry(size, height, width, bpp);
  const size_t stride = static_cast<size_t>(width) * static_cast<size_t>(bpp);
  const size_t b = static_cast<size_t>(bpp);
  for (int64_t r = 0; r < height; ++r) {
    const uint8_t* src = data + static_cast<size_t>(r) * (stride + 1);
    const uint8_t filter = src[0];
    ++src;
    uint8_t* dst = out + static_cast<size_t>(r) * stride;
    const uint8_t* up = r > 0 ? dst - stride : nullptr;
    switch (filter) {
      case 0:
        std::memcpy(dst, src, stride);
        break;
      case 1:
        for (size_t i = 0; i < stride; ++i)
          dst[i] = static_cast<uint8_t>(src[i] + (i >= b ? dst[i - b] : 0));
        break;
      case 2:
        for (size_t i = 0; i < stride; ++i)
          dst[i] = static_cast<uint8_t>(src[i] + (up ? up[i] : 0));
        break;
      case 3:
        for (size_t i = 0; i < stride; ++i) {
          const int a = i >= b ? dst[i - b] : 0, u = up ? up[i] : 0;
          dst[i] = static_cast<uint8_t>(src[i] + ((a + u) >> 1));
        }
        break;
      case 4:
        for (size_t i = 0; i < stride; ++i) {
          const int a = i >= b ? dst[i - b] : 0, u = up ? up[i] : 0;
          const int c = (i >= b && up) ? up[i - b] : 0;
          const int pp = a + u - c;
          const int pa = std::abs(pp - a), pb = std::abs(pp - u), pc = std::abs(pp - c);
          const int pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? u : c);
          dst[i] = static_cast<uint8_t>(src[i] + pred);
        }
        break;
      default:
        throw_error<std::invalid_argument>("PNG scanline ", r, " has unknown filter type ",
                                           static_cast<int>(filter));
    }
  }
}

}  // namespace cmp_edge
