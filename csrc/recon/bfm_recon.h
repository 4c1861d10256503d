// Fused 3D morphable model reconstruction:
//
//   out[b, i, :] = s_b * R_b @ (mean[i] + sum_k W[3i + c, k] * coeffs[b, k]) + t_b
//
// for every vertex i and batch item b, without any 3N-long temporary.
//
// The basis W (3N x K, xyz interleaved rows) is repacked once into blocks of
// eight vertices: block j holds, for each component k, the eight x values,
// then the eight y values, then the eight z values (k-major, 24 floats per k).
// A block of one component is a SIMD vector per coordinate, so the kernel
// accumulates x, y and z of eight vertices in registers (structure of arrays),
// applies the pose in registers and interleaves to xyz on the store. Batch
// items are processed four at a time (12 accumulators) over tiles of 16 blocks
// whose basis stays in L1/L2 while the whole batch is computed; outputs larger
// than 16 MB are written with non-temporal stores.
//
// Optionally the basis is stored as IEEE half floats (halving the memory
// traffic) with one float scale per component (so small components do not
// fall into half subnormals); the mean always stays float32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cmp_edge {

// Half-precision conversion (round to nearest even; used for packing and by
// the portable kernel).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// Name of the CPU kernel chosen at run time: "avx2-fma-f16c" or "baseline".
std::string recon_cpu_isa();

class ReconBasis {
 public:
  static constexpr int64_t kBlock = 8;  // vertices per block

  // mean: (n_vertices, 3) row-major; basis: (3 * n_vertices, n_components) row-major.
  // portable forces the baseline kernel even where AVX2 is available (tests).
  ReconBasis(const float* mean, const float* basis, int64_t n_vertices, int64_t n_components,
             bool half, bool portable = false);

  int64_t n_vertices() const { return n_vertices_; }
  int64_t n_components() const { return n_components_; }
  bool half() const { return half_; }
  bool portable() const { return portable_; }
  // bytes of packed basis + mean
  int64_t nbytes() const;

  // coeffs: (batch, k_used) row-major with 0 < k_used <= n_components (components
  // beyond k_used are treated as zero); scale: (batch); rotation: (batch, 3, 3)
  // row-major; translation: (batch, 3); out: (batch, n_vertices, 3).
  // threads <= 0 means all hardware threads.
  void reconstruct(const float* coeffs, int64_t batch, int64_t k_used, const float* scale,
                   const float* rotation, const float* translation, float* out,
                   int threads) const;

 private:
  int64_t n_vertices_;
  int64_t n_components_;
  int64_t n_blocks_;
  bool half_;
  bool portable_;
  std::vector<float> mean_;        // [block][3][8]
  std::vector<float> w32_;         // [block][k][3][8]        (float32 basis)
  std::vector<uint16_t> w16_;      // [block][k][3][8]        (half basis)
  std::vector<float> col_scale_;   // [k] half basis: W = w16 * col_scale
};

// The same computation on a CUDA device. The basis lives on the device (as a
// K x 3N transposed float32 or half array); inputs and outputs are host
// arrays. Constructing it without CUDA support or device throws
// std::runtime_error.
class CudaReconBasis {
 public:
  CudaReconBasis(const float* mean, const float* basis, int64_t n_vertices,
                 int64_t n_components, bool half, int device);
  ~CudaReconBasis();
  CudaReconBasis(const CudaReconBasis&) = delete;
  CudaReconBasis& operator=(const CudaReconBasis&) = delete;

  int64_t n_vertices() const { return n_vertices_; }
  int64_t n_components() const { return n_components_; }
  bool half() const { return half_; }
  int device() const { return device_; }

  void reconstruct(const float* coeffs, int64_t batch, int64_t k_used, const float* scale,
                   const float* rotation, const float* translation, float* out) const;

  struct Impl;

 private:
  int64_t n_vertices_;
  int64_t n_components_;
  bool half_;
  int device_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmp_edge
