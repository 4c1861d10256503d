// Python bindings for the render component (to be filled by its owner).
#include "bindings/registry.h"

namespace cmp_edge {

void register_render(pybind11::module_& /*m*/) {}

}  // namespace cmp_edge
