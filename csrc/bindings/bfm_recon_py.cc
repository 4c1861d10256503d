// Python bindings for the bfm_recon component (to be filled by its owner).
#include "bindings/registry.h"

namespace cmp_edge {

void register_bfm_recon(pybind11::module_& /*m*/) {}

}  // namespace cmp_edge
