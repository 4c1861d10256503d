// Fused 3DMM reconstruction on a CUDA device (see bfm_recon.h).
//
// The basis is kept on the device transposed, K x 3N (float32, or binary16
// with one float scale per component), so that for each component the threads
// of a warp (consecutive vertices) read one contiguous stretch. Each thread
// computes one vertex for up to kGroup batch items; the group's coefficients
// and poses sit in shared memory.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "recon/bfm_recon.h"

namespace cmp_edge {
namespace {

constexpr int kThreads = 128;
constexpr int kGroup = 8;
constexpr size_t kMaxShared = 48 * 1024;

void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw std::runtime_error(std::string("CUDA reconstruction: ") + what + " failed: " +
                             cudaGetErrorString(err));
  }
}

__device__ __forceinline__ float load_basis(const float* p) { return __ldg(p); }
__device__ __forceinline__ float load_basis(const unsigned short* p) {
  return __half2float(__ushort_as_half(__ldg(p)));
}

template <typename T>
__global__ void recon_kernel(const float* __restrict__ mean, const T* __restrict__ basis_t,
                             const float* __restrict__ coef, const float* __restrict__ pose,
                             int n, int k_used, int batch, float* __restrict__ out) {
  extern __shared__ float smem[];
  float* s_coef = smem;                   // kGroup * k_used (zero padded)
  float* s_pose = smem + kGroup * k_used;  // kGroup * 12
  const int b0 = static_cast<int>(blockIdx.y) * kGroup;
  const int nb = min(kGroup, batch - b0);
  for (int i = threadIdx.x; i < kGroup * k_used; i += blockDim.x) {
    const int g = i / k_used;
    s_coef[i] = g < nb ? coef[static_cast<size_t>(b0) * k_used + i] : 0.0f;
  }
  for (int i = threadIdx.x; i < kGroup * 12; i += blockDim.x) {
    s_pose[i] = i / 12 < nb ? pose[static_cast<size_t>(b0) * 12 + i] : 0.0f;
  }
  __syncthreads();
  const int v = static_cast<int>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (v >= n) return;
  float acc[kGroup][3];
  const float mx = mean[3 * v], my = mean[3 * v + 1], mz = mean[3 * v + 2];
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    acc[g][0] = mx;
    acc[g][1] = my;
    acc[g][2] = mz;
  }
  const size_t stride = 3 * static_cast<size_t>(n);
  const T* row = basis_t + 3 * static_cast<size_t>(v);
  for (int k = 0; k < k_used; ++k, row += stride) {
    const float wx = load_basis(row), wy = load_basis(row + 1), wz = load_basis(row + 2);
#pragma unroll
    for (int g = 0; g < kGroup; ++g) {
      const float a = s_coef[g * k_used + k];
      acc[g][0] = fmaf(wx, a, acc[g][0]);
      acc[g][1] = fmaf(wy, a, acc[g][1]);
      acc[g][2] = fmaf(wz, a, acc[g][2]);
    }
  }
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    if (g >= nb) break;
    const float* p = s_pose + 12 * g;
    const float x = acc[g][0], y = acc[g][1], z = acc[g][2];
    float* o = out + (static_cast<size_t>(b0 + g) * n + v) * 3;
    o[0] = fmaf(p[0], x, fmaf(p[1], y, fmaf(p[2], z, p[9])));
    o[1] = fmaf(p[3], x, fmaf(p[4], y, fmaf(p[5], z, p[10])));
    o[2] = fmaf(p[6], x, fmaf(p[7], y, fmaf(p[8], z, p[11])));
  }
}

template <typename T>
void device_alloc(T** ptr, size_t count, const char* what) {
  cuda_check(cudaMalloc(reinterpret_cast<void**>(ptr), std::max<size_t>(count, 1) * sizeof(T)),
             what);
}

}  // namespace

struct CudaReconBasis::Impl {
  int device = 0;
  float* mean = nullptr;
  void* basis = nullptr;
  float* coef = nullptr;
  float* pose = nullptr;
  float* out = nullptr;
  size_t coef_cap = 0, pose_cap = 0, out_cap = 0;
  std::vector<float> col_scale;
  std::mutex mu;

  ~Impl() {
    if (cudaSetDevice(device) != cudaSuccess) return;
    cudaFree(mean);
    cudaFree(basis);
    cudaFree(coef);
    cudaFree(pose);
    cudaFree(out);
  }

  template <typename T>
  void grow(T** ptr, size_t* cap, size_t count, const char* what) {
    if (count <= *cap) return;
    cudaFree(*ptr);
    *ptr = nullptr;
    *cap = 0;
    device_alloc(ptr, count, what);
    *cap = count;
  }
};

CudaReconBasis::CudaReconBasis(const float* mean, const float* basis, int64_t n_vertices,
                               int64_t n_components, bool half, int device)
    : n_vertices_(n_vertices), n_components_(n_components), half_(half), device_(device) {
  if (n_vertices <= 0 || n_components < 0 || n_vertices > (int64_t{1} << 29)) {
    throw std::invalid_argument("CudaReconBasis: bad model size");
  }
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    throw std::runtime_error("CUDA reconstruction: no usable CUDA device (driver or GPU missing)");
  }
  if (device < 0 || device >= count) {
    throw std::invalid_argument("CudaReconBasis: device " + std::to_string(device) +
                                " does not exist (" + std::to_string(count) + " devices)");
  }
  impl_ = std::make_unique<Impl>();
  impl_->device = device;
  cuda_check(cudaSetDevice(device), "cudaSetDevice");
  const size_t n3 = 3 * static_cast<size_t>(n_vertices);
  const size_t nk = static_cast<size_t>(n_components);
  device_alloc(&impl_->mean, n3, "cudaMalloc(mean)");
  cuda_check(cudaMemcpy(impl_->mean, mean, n3 * sizeof(float), cudaMemcpyHostToDevice),
             "copy mean");
  impl_->col_scale.assign(nk, 1.0f);
  if (half) {
    // per-component scale: the largest magnitude maps to 1.0 in half precision
    std::vector<float> peak(nk, 0.0f);
    for (size_t r = 0; r < n3; ++r)
      for (size_t k = 0; k < nk; ++k) peak[k] = std::max(peak[k], std::fabs(basis[r * nk + k]));
    for (size_t k = 0; k < nk; ++k) impl_->col_scale[k] = peak[k] > 0.0f ? peak[k] : 1.0f;
    std::vector<uint16_t> host(n3 * nk);
    for (size_t r = 0; r < n3; ++r)
      for (size_t k = 0; k < nk; ++k)
        host[k * n3 + r] = float_to_half(basis[r * nk + k] / impl_->col_scale[k]);
    uint16_t* dev = nullptr;
    device_alloc(&dev, host.size(), "cudaMalloc(basis)");
    impl_->basis = dev;
    cuda_check(cudaMemcpy(dev, host.data(), host.size() * sizeof(uint16_t),
                          cudaMemcpyHostToDevice),
               "copy basis");
  } else {
    std::vector<float> host(n3 * nk);
    for (size_t r = 0; r < n3; ++r)
      for (size_t k = 0; k < nk; ++k) host[k * n3 + r] = basis[r * nk + k];
    float* dev = nullptr;
    device_alloc(&dev, host.size(), "cudaMalloc(basis)");
    impl_->basis = dev;
    cuda_check(cudaMemcpy(dev, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
               "copy basis");
  }
}

CudaReconBasis::~CudaReconBasis() = default;

void CudaReconBasis::reconstruct(const float* coeffs, int64_t batch, int64_t k_used,
                                 const float* scale, const float* rotation,
                                 const float* translation, float* out) const {
  if (batch < 0 || k_used < 0 || k_used > n_components_) {
    throw std::invalid_argument("CudaReconBasis.reconstruct: bad batch or coefficient count");
  }
  if (batch == 0) return;
  const size_t shared = (kGroup * static_cast<size_t>(k_used) + kGroup * 12) * sizeof(float);
  if (shared > kMaxShared) {
    throw std::invalid_argument("CudaReconBasis.reconstruct: too many coefficients (" +
                                std::to_string(k_used) + ") for the CUDA kernel");
  }
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.mu);
  cuda_check(cudaSetDevice(im.device), "cudaSetDevice");
  const size_t bk = static_cast<size_t>(batch) * static_cast<size_t>(k_used);
  std::vector<float> coef(std::max<size_t>(bk, 1));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t k = 0; k < k_used; ++k)
      coef[static_cast<size_t>(b * k_used + k)] =
          coeffs[b * k_used + k] * im.col_scale[static_cast<size_t>(k)];
  std::vector<float> pose(static_cast<size_t>(batch) * 12);
  for (int64_t b = 0; b < batch; ++b) {
    float* p = pose.data() + b * 12;
    for (int i = 0; i < 9; ++i) p[i] = scale[b] * rotation[b * 9 + i];
    for (int i = 0; i < 3; ++i) p[9 + i] = translation[b * 3 + i];
  }
  const size_t n_out = static_cast<size_t>(batch) * 3 * static_cast<size_t>(n_vertices_);
  im.grow(&im.coef, &im.coef_cap, coef.size(), "cudaMalloc(coefficients)");
  im.grow(&im.pose, &im.pose_cap, pose.size(), "cudaMalloc(poses)");
  im.grow(&im.out, &im.out_cap, n_out, "cudaMalloc(output)");
  cuda_check(cudaMemcpy(im.coef, coef.data(), coef.size() * sizeof(float),
                        cudaMemcpyHostToDevice),
             "copy coefficients");
  cuda_check(cudaMemcpy(im.pose, pose.data(), pose.size() * sizeof(float),
                        cudaMemcpyHostToDevice),
             "copy poses");
  const int n = static_cast<int>(n_vertices_);
  const dim3 grid(static_cast<unsigned>((n + kThreads - 1) / kThreads),
                  static_cast<unsigned>((batch + kGroup - 1) / kGroup));
  if (half_) {
    recon_kernel<unsigned short><<<grid, kThreads, shared>>>(
        im.mean, static_cast<const unsigned short*>(im.basis), im.coef, im.pose, n,
        static_cast<int>(k_used), static_cast<int>(batch), im.out);
  } else {
    recon_kernel<float><<<grid, kThreads, shared>>>(im.mean, static_cast<const float*>(im.basis),
                                                    im.coef, im.pose, n,
                                                    static_cast<int>(k_used),
                                                    static_cast<int>(batch), im.out);
  }
  cuda_check(cudaGetLastError(), "kernel launch");
  cuda_check(cudaMemcpy(out, im.out, n_out * sizeof(float), cudaMemcpyDeviceToHost),
             "copy result");
}

}  // namespace cmp_edge
