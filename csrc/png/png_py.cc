// Python binding of the PNG scanline unfilter (png/png.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string_view>

#include "common/check.h"
#include "png/png.h"
#include "registry.h"

namespace py = pybind11;

namespace cmp_edge {
namespace {

py::array_t<uint8_t> png_unfilter_py(const py::bytes& data, int64_t height, int64_t width,
                                     int bpp) {
  const std::string_view view = data;
  // Every size is proven before the output is allocated: the geometry must
  // match the inflated data exactly, so the output is never larger than it.
  check_png_geometry(view.size(), height, width, bpp);
  py::array_t<uint8_t> out({height, width * bpp});
  uint8_t* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    png_unfilter(reinterpret_cast<const uint8_t*>(view.data()), view.size(), height, width, bpp,
                 dst);
  }
  return out;
}

}  // namespace

void register_png(py::module_& m) {
  m.def("png_unfilter", &png_unfilter_py, py::arg("data"), py::arg("height"), py::arg("width"),
        py::arg("bpp"),
        "Undo PNG scanline filters 0-4: data is the inflated IDAT stream; returns "
        "(height, width * bpp) uint8.");
}

}  // namespace cmp_edge
