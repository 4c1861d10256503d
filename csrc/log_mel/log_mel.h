// CMP log-mel spectrum (spec section 1): options, precomputed tables, batch compute.
//
// Layout: samples are a contiguous float array; the result is row-major
// (frames, n_mels) float32 with frames = n / hop_length + 1. Frame k covers
// samples [k*hop, min(n, k*hop + win)); a short frame is filled to win samples
// by repeating itself cyclically (an empty frame is zeros). Pre-emphasis
// carries prior = last sample of the previous *filled* frame.
//
// The spectrum is computed several frames at a time (one frame per SIMD lane:
// 8 in float32, 4 in float64) with an n_fft/2-point complex FFT of the packed
// real frame. The kernels are compiled twice (baseline and AVX2+FMA) and chosen
// at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cmp_edge {

struct LogMelConfig {
  int sample_rate = 16000;
  int n_mels = 64;
  double f_min = 20.0;
  double f_max = 7200.0;
  int n_fft = 1024;
  int win_length = 400;
  int hop_length = 160;
  double preemphasis = 0.97;
  std::string window = "hamming";
  double floor = 1e-5;

  // Throws std::invalid_argument on any inconsistent value.
  void validate() const;
  std::string repr() const;
};

// One frame for the kernel: `x` points at win_length samples (already filled),
// `prior` is the pre-emphasis state (unscaled, like x).
struct FrameRef {
  const float* x;
  float prior;
};

// Read-only tables used by the kernels (pointers into a LogMelPlan), in the
// kernel's precision T (float or double).
template <typename T>
struct KernelTablesT {
  int half = 0;        // n_fft / 2 complex points
  int win = 0;         // window length
  int n_mels = 0;
  int n_bins = 0;      // power bins actually used by the filterbank
  double preemph = 0.0;
  double floor = 0.0;
  const T* window = nullptr;       // [win]
  const T* tw_re = nullptr;        // twiddles of the DIF stage with half-size h at offset h-1
  const T* tw_im = nullptr;
  const T* tw3_re = nullptr;       // exp(-2 pi i 3j / 4q) of the radix-4 pass with q at offset q-1
  const T* tw3_im = nullptr;
  const int32_t* bitrev = nullptr; // [half]
  const T* post_re = nullptr;      // real-FFT split twiddles [n_bins]
  const T* post_im = nullptr;
  const int32_t* fb_start = nullptr;  // first bin of filter i
  const int32_t* fb_len = nullptr;    // number of bins of filter i
  const int32_t* fb_off = nullptr;    // offset of its weights in fb_w
  const T* fb_w = nullptr;
};

// Instruction set used by the kernels.
enum class Isa { kGeneric, kAvx2 };
Isa best_isa();
const char* isa_name(Isa isa);

// Arithmetic precision of the kernels.
enum class Precision { kFloat32, kFloat64 };
const char* precision_name(Precision p);
Precision default_precision();

// Scratch memory of one kernel call: 32-byte vectors for 2 * half + n_bins values.
class KernelScratch {
 public:
  KernelScratch(int half, int n_bins);
  void* data() { return buf_.get(); }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> buf_;
};

class LogMelPlan {
 public:
  LogMelPlan(const LogMelConfig& config, Isa isa, Precision precision);
  explicit LogMelPlan(const LogMelConfig& config);  // best ISA, default precision
  // The kernel views point into the plan's own tables: neither copyable nor movable.
  LogMelPlan(const LogMelPlan&) = delete;
  LogMelPlan& operator=(const LogMelPlan&) = delete;

  const LogMelConfig& config() const { return config_; }
  Isa isa() const { return isa_; }
  Precision precision() const { return precision_; }
  int n_mels() const { return config_.n_mels; }
  int64_t num_frames(int64_t n_samples) const { return n_samples / config_.hop_length + 1; }
  KernelScratch make_scratch() const { return KernelScratch(half_, n_bins_); }

  // Log-mel of `count` frames into out[count * n_mels]; samples are multiplied by
  // `scale` first. A frame's result does not depend on the other frames passed.
  void compute_frames(const FrameRef* frames, int64_t count, float scale, float* out,
                      KernelScratch& scratch) const;

  // Whole signal x[n] -> out[num_frames(n) * n_mels]. threads >= 1.
  void compute(const float* x, int64_t n, float scale, float* out, int threads) const;

 private:
  template <typename T>
  struct Tables {
    std::vector<T> window, tw_re, tw_im, tw3_re, tw3_im, post_re, post_im, fb_w;
    KernelTablesT<T> view;
  };
  template <typename T>
  void fill_tables(Tables<T>& t, const std::vector<double>& window,
                   const std::vector<double>& fb_w) const;

  LogMelConfig config_;
  Isa isa_;
  Precision precision_;
  int half_ = 0, n_bins_ = 0;
  std::vector<int32_t> bitrev_, fb_start_, fb_len_, fb_off_;
  Tables<float> f32_;
  Tables<double> f64_;
};

// Index of the first NaN or Inf in x[n], or -1 when all are finite (vectorisable).
int64_t first_non_finite(const float* x, int64_t n);

// Fills a short frame (len < win samples starting at x) cyclically into dst[win].
void fill_cyclic(const float* x, int64_t len, int win, float* dst);

// The kernels (log_mel_kernel.inc), one namespace per instruction set.
namespace kernel_generic {
void compute_frames(const KernelTablesT<float>& t, const FrameRef* frames, int64_t count,
                    float scale, float* out, void* scratch);
void compute_frames(const KernelTablesT<double>& t, const FrameRef* frames, int64_t count,
                    float scale, float* out, void* scratch);
}  // namespace kernel_generic
namespace kernel_avx2 {
bool available();
void compute_frames(const KernelTablesT<float>& t, const FrameRef* frames, int64_t count,
                    float scale, float* out, void* scratch);
void compute_frames(const KernelTablesT<double>& t, const FrameRef* frames, int64_t count,
                    float scale, float* out, void* scratch);
}  // namespace kernel_avx2

}  // namespace cmp_edge
