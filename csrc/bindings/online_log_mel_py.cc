// Python bindings for the online_log_mel component (to be filled by its owner).
#include "bindings/registry.h"

namespace cmp_edge {

void register_online_log_mel(pybind11::module_& /*m*/) {}

}  // namespace cmp_edge
