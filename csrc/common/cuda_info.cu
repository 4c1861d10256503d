#include <cuda_runtime.h>

namespace cmp_edge {

int cuda_device_count_impl() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return count;
}

}  // namespace cmp_edge
