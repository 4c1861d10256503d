// The log-mel kernel compiled for AVX2+FMA, selected at run time when the CPU has it.
#include <cstdint>
#include <cstring>

#include "log_mel/log_mel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CMP_EDGE_AVX2_KERNEL 1
#endif

namespace cmp_edge {
namespace kernel_avx2 {

#ifdef CMP_EDGE_AVX2_KERNEL

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#include "log_mel/log_mel_kernel.inc"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

bool available() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else  // no AVX2 kernel on this platform

bool available() { return false; }

void compute_frames(const KernelTablesT<float>&, const FrameRef*, int64_t, float, float*, void*) {}
void compute_frames(const KernelTablesT<double>&, const FrameRef*, int64_t, float, float*, void*) {}

#endif

}  // namespace kernel_avx2
}  // namespace cmp_edge
