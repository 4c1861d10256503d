#include "common/cuda_info.h"

namespace cmp_edge {

#ifdef CMP_EDGE_WITH_CUDA
int cuda_device_count_impl();  // defined in cuda_info.cu
bool built_with_cuda() { return true; }
int cuda_device_count() { return cuda_device_count_impl(); }
#else
bool built_with_cuda() { return false; }
int cuda_device_count() { return 0; }
#endif

}  // namespace cmp_edge
