// Fused 3DMM reconstruction on the CPU (see bfm_recon.h for the data layout).
#include "recon/bfm_recon.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/check.h"
#include "common/parallel.h"

#if defined(__x86_64__) || defined(_M_X64)
#define CMP_EDGE_X86 1
#include <immintrin.h>
#endif

namespace cmp_edge {

// ---------------------------------------------------------------- half floats

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {  // subnormal half (or zero)
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // below half of min subnormal
    const uint32_t mant = (abs & 0x007fffffu) | 0x00800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // 14 + (113 - exp)
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half_way = 1u << (shift - 1);
    if (rem > half_way || (rem == half_way && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      x = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

// ------------------------------------------------------------------- dispatch

namespace {

bool cpu_has_avx2_fma_f16c() {
#if defined(CMP_EDGE_X86) && (defined(__GNUC__) || defined(__clang__))
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return ok;
#else
  return false;
#endif
}

// Everything one kernel call needs; coefficients and poses are pre-processed.
struct Job {
  const float* mean;     // [block][3][8]
  const float* w32;      // [block][k][3][8]
  const uint16_t* w16;   // [block][k][3][8]
  int64_t n_comp;        // stride: components per block
  int64_t k_used;
  const float* coef;     // (batch, k_used), multiplied by col_scale for half bases
  const float* pose;     // (batch, 12): s*R row-major, then t
  float* out;            // (batch, n_vertices, 3)
  int64_t n_vertices;
  bool stream;           // non-temporal stores (output much larger than the caches)
};

constexpr int kLanes = 8;
constexpr int kPerK = 3 * kLanes;  // values per component in a block

// Portable kernel: eight-lane arrays that the compiler vectorises for the baseline ISA.
template <int G, bool Half>
void block_portable(const Job& jb, int64_t j, int64_t b0, int valid) {
  float acc[G][kPerK];
  const float* m = jb.mean + j * kPerK;
  for (int g = 0; g < G; ++g)
    for (int i = 0; i < kPerK; ++i) acc[g][i] = m[i];
  float w[kPerK];
  for (int64_t k = 0; k < jb.k_used; ++k) {
    const int64_t off = (j * jb.n_comp + k) * kPerK;
    if constexpr (Half) {
      for (int i = 0; i < kPerK; ++i) w[i] = half_to_float(jb.w16[off + i]);
    } else {
      for (int i = 0; i < kPerK; ++i) w[i] = jb.w32[off + i];
    }
    for (int g = 0; g < G; ++g) {
      const float a = jb.coef[(b0 + g) * jb.k_used + k];
      for (int i = 0; i < kPerK; ++i) acc[g][i] += w[i] * a;
    }
  }
  for (int g = 0; g < G; ++g) {
    const float* p = jb.pose + (b0 + g) * 12;
    float* o = jb.out + ((b0 + g) * jb.n_vertices + j * kLanes) * 3;
    for (int l = 0; l < valid; ++l) {
      const float x = acc[g][l], y = acc[g][kLanes + l], z = acc[g][2 * kLanes + l];
      o[3 * l + 0] = p[0] * x + p[1] * y + p[2] * z + p[9];
      o[3 * l + 1] = p[3] * x + p[4] * y + p[5] * z + p[10];
      o[3 * l + 2] = p[6] * x + p[7] * y + p[8] * z + p[11];
    }
  }
}

#ifdef CMP_EDGE_X86
#define CMP_AVX2 __attribute__((target("avx2,fma,f16c")))

template <bool Half>
CMP_AVX2 inline __m256 load_w(const Job& jb, int64_t off) {
  if constexpr (Half) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(jb.w16 + off)));
  } else {
    return _mm256_loadu_ps(jb.w32 + off);
  }
}

// Pose in registers, then (x0..x7, y0..y7, z0..z7) -> x0 y0 z0 x1 y1 z1 ... stored.
CMP_AVX2 inline void pose_store(const float* p, __m256 x, __m256 y, __m256 z, float* o,
                                int valid, bool stream) {
  const __m256 ox = _mm256_fmadd_ps(
      _mm256_set1_ps(p[0]), x,
      _mm256_fmadd_ps(_mm256_set1_ps(p[1]), y,
                      _mm256_fmadd_ps(_mm256_set1_ps(p[2]), z, _mm256_set1_ps(p[9]))));
  const __m256 oy = _mm256_fmadd_ps(
      _mm256_set1_ps(p[3]), x,
      _mm256_fmadd_ps(_mm256_set1_ps(p[4]), y,
                      _mm256_fmadd_ps(_mm256_set1_ps(p[5]), z, _mm256_set1_ps(p[10]))));
  const __m256 oz = _mm256_fmadd_ps(
      _mm256_set1_ps(p[6]), x,
      _mm256_fmadd_ps(_mm256_set1_ps(p[7]), y,
                      _mm256_fmadd_ps(_mm256_set1_ps(p[8]), z, _mm256_set1_ps(p[11]))));
  // per 128-bit lane (4 vertices): o0 = x0 y0 z0 x1, o1 = y1 z1 x2 y2, o2 = z2 x3 y3 z3
  const __m256 xy_lo = _mm256_unpacklo_ps(ox, oy);
  const __m256 xy_hi = _mm256_unpackhi_ps(ox, oy);
  const __m256 zx_lo = _mm256_unpacklo_ps(oz, ox);
  const __m256 zx_hi = _mm256_unpackhi_ps(oz, ox);
  const __m256 yz_lo = _mm256_unpacklo_ps(oy, oz);
  const __m256 yz_hi = _mm256_unpackhi_ps(oy, oz);
  const __m256 o0 = _mm256_shuffle_ps(xy_lo, zx_lo, _MM_SHUFFLE(3, 0, 1, 0));
  const __m256 o1 = _mm256_shuffle_ps(yz_lo, xy_hi, _MM_SHUFFLE(1, 0, 3, 2));
  const __m256 o2 = _mm256_shuffle_ps(zx_hi, yz_hi, _MM_SHUFFLE(3, 2, 3, 0));
  const __m256 v0 = _mm256_permute2f128_ps(o0, o1, 0x20);
  const __m256 v1 = _mm256_permute2f128_ps(o2, o0, 0x30);
  const __m256 v2 = _mm256_permute2f128_ps(o1, o2, 0x31);
  if (valid == kLanes && stream) {
    // non-temporal 4-byte stores (no alignment needed beyond float): the output
    // is not read back for ownership first, halving the memory traffic
    alignas(32) float tmp[kPerK];
    _mm256_store_ps(tmp, v0);
    _mm256_store_ps(tmp + 8, v1);
    _mm256_store_ps(tmp + 16, v2);
    int* dst = reinterpret_cast<int*>(o);
    const int* src = reinterpret_cast<const int*>(tmp);
    for (int i = 0; i < kPerK; ++i) _mm_stream_si32(dst + i, src[i]);
  } else if (valid == kLanes) {
    _mm256_storeu_ps(o, v0);
    _mm256_storeu_ps(o + 8, v1);
    _mm256_storeu_ps(o + 16, v2);
  } else {
    alignas(32) float tmp[kPerK];
    _mm256_store_ps(tmp, v0);
    _mm256_store_ps(tmp + 8, v1);
    _mm256_store_ps(tmp + 16, v2);
    std::memcpy(o, tmp, sizeof(float) * 3 * static_cast<size_t>(valid));
  }
}

// G batch items at once; for G <= 2 the component loop keeps two accumulator
// sets (even / odd k) so the FMA latency is hidden.
template <int G, bool Half>
CMP_AVX2 void block_avx2(const Job& jb, int64_t j, int64_t b0, int valid) {
  constexpr int U = G <= 2 ? 2 : 1;
  __m256 acc[U][G][3];
  const float* m = jb.mean + j * kPerK;
  for (int g = 0; g < G; ++g) {
    for (int c = 0; c < 3; ++c) {
      acc[0][g][c] = _mm256_loadu_ps(m + c * kLanes);
      if constexpr (U == 2) acc[1][g][c] = _mm256_setzero_ps();
    }
  }
  const float* cf[G];
  for (int g = 0; g < G; ++g) cf[g] = jb.coef + (b0 + g) * jb.k_used;
  const int64_t base = j * jb.n_comp * kPerK;
  int64_t k = 0;
  for (; k + U <= jb.k_used; k += U) {
    for (int u = 0; u < U; ++u) {
      const int64_t off = base + (k + u) * kPerK;
      const __m256 wx = load_w<Half>(jb, off);
      const __m256 wy = load_w<Half>(jb, off + kLanes);
      const __m256 wz = load_w<Half>(jb, off + 2 * kLanes);
      for (int g = 0; g < G; ++g) {
        const __m256 a = _mm256_broadcast_ss(cf[g] + k + u);
        acc[u][g][0] = _mm256_fmadd_ps(wx, a, acc[u][g][0]);
        acc[u][g][1] = _mm256_fmadd_ps(wy, a, acc[u][g][1]);
        acc[u][g][2] = _mm256_fmadd_ps(wz, a, acc[u][g][2]);
      }
    }
  }
  for (; k < jb.k_used; ++k) {
    const int64_t off = base + k * kPerK;
    const __m256 wx = load_w<Half>(jb, off);
    const __m256 wy = load_w<Half>(jb, off + kLanes);
    const __m256 wz = load_w<Half>(jb, off + 2 * kLanes);
    for (int g = 0; g < G; ++g) {
      const __m256 a = _mm256_broadcast_ss(cf[g] + k);
      acc[0][g][0] = _mm256_fmadd_ps(wx, a, acc[0][g][0]);
      acc[0][g][1] = _mm256_fmadd_ps(wy, a, acc[0][g][1]);
      acc[0][g][2] = _mm256_fmadd_ps(wz, a, acc[0][g][2]);
    }
  }
  for (int g = 0; g < G; ++g) {
    __m256 x = acc[0][g][0], y = acc[0][g][1], z = acc[0][g][2];
    if constexpr (U == 2) {
      x = _mm256_add_ps(x, acc[1][g][0]);
      y = _mm256_add_ps(y, acc[1][g][1]);
      z = _mm256_add_ps(z, acc[1][g][2]);
    }
    pose_store(jb.pose + (b0 + g) * 12, x, y, z,
               jb.out + ((b0 + g) * jb.n_vertices + j * kLanes) * 3, valid, jb.stream);
  }
}
#undef CMP_AVX2
#endif  // CMP_EDGE_X86

using BlockFn = void (*)(const Job&, int64_t, int64_t, int);

struct Kernels {
  BlockFn g[5];  // index = batch items per call (1..4)
};

template <bool Half>
Kernels portable_kernels() {
  return {{nullptr, &block_portable<1, Half>, &block_portable<2, Half>,
           &block_portable<3, Half>, &block_portable<4, Half>}};
}

template <bool Half>
Kernels select_kernels(bool portable) {
#ifdef CMP_EDGE_X86
  if (!portable && cpu_has_avx2_fma_f16c()) {
    return {{nullptr, &block_avx2<1, Half>, &block_avx2<2, Half>, &block_avx2<3, Half>,
             &block_avx2<4, Half>}};
  }
#else
  (void)portable;
#endif
  return portable_kernels<Half>();
}

}  // namespace

std::string recon_cpu_isa() { return cpu_has_avx2_fma_f16c() ? "avx2-fma-f16c" : "baseline"; }

// ------------------------------------------------------------------ ReconBasis

ReconBasis::ReconBasis(const float* mean, const float* basis, int64_t n_vertices,
                       int64_t n_components, bool half, bool portable)
    : n_vertices_(n_vertices),
      n_components_(n_components),
      n_blocks_((n_vertices + kBlock - 1) / kBlock),
      half_(half),
      portable_(portable) {
  CMP_CHECK_ARG(n_vertices > 0, "ReconBasis: n_vertices must be > 0, got ", n_vertices);
  CMP_CHECK_ARG(n_components >= 0, "ReconBasis: n_components must be >= 0, got ",
                n_components);
  CMP_CHECK_ARG(mean != nullptr && (basis != nullptr || n_components == 0),
                "ReconBasis: null array");
  const size_t nb = static_cast<size_t>(n_blocks_);
  const size_t nk = static_cast<size_t>(n_components);
  mean_.assign(nb * kPerK, 0.0f);
  for (int64_t i = 0; i < n_vertices; ++i) {
    const int64_t j = i / kBlock, l = i % kBlock;
    for (int c = 0; c < 3; ++c) mean_[static_cast<size_t>(j * kPerK + c * kLanes + l)] =
        mean[3 * i + c];
  }
  for (int64_t i = 0; i < 3 * n_vertices * n_components; ++i) {
    CMP_CHECK_ARG(std::isfinite(basis[i]), "ReconBasis: the basis contains NaN or infinity");
  }
  col_scale_.assign(nk, 1.0f);
  if (half) {
    // per-component scale: the largest magnitude maps to 1.0 in half precision
    std::vector<float> peak(nk, 0.0f);
    for (int64_t r = 0; r < 3 * n_vertices; ++r)
      for (int64_t k = 0; k < n_components; ++k)
        peak[static_cast<size_t>(k)] =
            std::max(peak[static_cast<size_t>(k)], std::fabs(basis[r * n_components + k]));
    for (size_t k = 0; k < nk; ++k) col_scale_[k] = peak[k] > 0.0f ? peak[k] : 1.0f;
    w16_.assign(nb * nk * kPerK, 0);
  } else {
    w32_.assign(nb * nk * kPerK, 0.0f);
  }
  for (int64_t i = 0; i < n_vertices; ++i) {
    const int64_t j = i / kBlock, l = i % kBlock;
    for (int c = 0; c < 3; ++c) {
      const float* row = basis + (3 * i + c) * n_components;
      for (int64_t k = 0; k < n_components; ++k) {
        const size_t dst = static_cast<size_t>((j * n_components + k) * kPerK + c * kLanes + l);
        if (half) {
          w16_[dst] = float_to_half(row[k] / col_scale_[static_cast<size_t>(k)]);
        } else {
          w32_[dst] = row[k];
        }
      }
    }
  }
}

int64_t ReconBasis::nbytes() const {
  return static_cast<int64_t>(mean_.size() * sizeof(float) + w32_.size() * sizeof(float) +
                              w16_.size() * sizeof(uint16_t) + col_scale_.size() * sizeof(float));
}

void ReconBasis::reconstruct(const float* coeffs, int64_t batch, int64_t k_used,
                             const float* scale, const float* rotation,
                             const float* translation, float* out, int threads) const {
  CMP_CHECK_ARG(batch >= 0, "reconstruct: batch must be >= 0, got ", batch);
  CMP_CHECK_ARG(k_used >= 0 && k_used <= n_components_, "reconstruct: ", k_used,
                " coefficients given, the basis has ", n_components_);
  CMP_CHECK_ARG(out != nullptr && scale != nullptr && rotation != nullptr &&
                    translation != nullptr && (coeffs != nullptr || k_used == 0 || batch == 0),
                "reconstruct: null array");
  if (batch == 0) return;
  const size_t bk = static_cast<size_t>(batch * k_used);
  std::vector<float> coef(bk);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t k = 0; k < k_used; ++k)
      coef[static_cast<size_t>(b * k_used + k)] =
          coeffs[b * k_used + k] * col_scale_[static_cast<size_t>(k)];
  std::vector<float> pose(static_cast<size_t>(batch) * 12);
  for (int64_t b = 0; b < batch; ++b) {
    float* p = pose.data() + b * 12;
    for (int i = 0; i < 9; ++i) p[i] = scale[b] * rotation[b * 9 + i];
    for (int i = 0; i < 3; ++i) p[9 + i] = translation[b * 3 + i];
  }
  // stream the output past the caches when it is far larger than them
  const bool stream = batch * n_vertices_ * 3 * 4 > (int64_t{16} << 20);
  Job jb{mean_.data(), w32_.data(), w16_.data(), n_components_, k_used,
         coef.data(), pose.data(), out, n_vertices_, stream};
  const Kernels kern = half_ ? select_kernels<true>(portable_) : select_kernels<false>(portable_);
  // at least ~256k multiply-adds per chunk, so a thread start (~20 us) is amortised
  // and small jobs stay on the calling thread
  const int64_t per_block = std::max<int64_t>(1, batch * std::max<int64_t>(k_used, 1) * kPerK);
  const int64_t grain = std::max<int64_t>(8, (int64_t{1} << 18) / per_block);
  // tiles of 16 vertex blocks: each batch item's output is written in runs of
  // 16 * 96 bytes (whole cache lines for the write-combining buffers), while the
  // tile's basis (16 * K * 96 bytes) stays in L2 across the batch
  constexpr int64_t tile = 16;
  parallel_for(n_blocks_, threads, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t0 = begin; t0 < end; t0 += tile) {
      const int64_t t1 = std::min(end, t0 + tile);
      int64_t b0 = 0;
      for (; b0 < batch; b0 += 4) {
        const int64_t g = std::min<int64_t>(4, batch - b0);
        for (int64_t j = t0; j < t1; ++j) {
          const int valid =
              static_cast<int>(std::min<int64_t>(kBlock, n_vertices_ - j * kBlock));
          kern.g[g](jb, j, b0, valid);
        }
      }
    }
#ifdef CMP_EDGE_X86
    if (jb.stream) _mm_sfence();  // make the non-temporal stores visible before returning
#endif
  });
}

// ------------------------------------------------- CUDA stubs (CPU-only build)
#ifndef CMP_EDGE_WITH_CUDA
struct CudaReconBasis::Impl {};

CudaReconBasis::CudaReconBasis(const float*, const float*, int64_t n_vertices,
                               int64_t n_components, bool half, int device)
    : n_vertices_(n_vertices), n_components_(n_components), half_(half), device_(device) {
  CMP_CHECK_STATE(false,
                  "CUDA reconstruction is not available: cmp-edge was built without CUDA "
                  "(rebuild with CMP_EDGE_CUDA=ON and the CUDA toolkit)");
}

CudaReconBasis::~CudaReconBasis() = default;

void CudaReconBasis::reconstruct(const float*, int64_t, int64_t, const float*, const float*,
                                 const float*, float*) const {
  CMP_CHECK_STATE(false, "CUDA reconstruction is not available in this build");
}
#endif

}  // namespace cmp_edge
