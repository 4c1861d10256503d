// Run-time CUDA availability. Built with CUDA or not is a build-time fact
// (has_cuda); whether a device can be used is a run-time fact
// (cuda_device_count() > 0).
#pragma once

namespace cmp_edge {

// True when this extension was compiled with CUDA kernels.
bool built_with_cuda();

// Number of usable CUDA devices (0 when built without CUDA, when no driver is
// installed, or when the driver is too old). Never throws.
int cuda_device_count();

}  // namespace cmp_edge
