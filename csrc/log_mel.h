// CMP log-mel spectrum (spec section 1): options, precomputed tables, batch compute.
//
// Layout: samples are a contiguous float array; the result is row-major
// (frames, n_mels) float32 with frames = n / hop_length + 1. Frame k covers
// samples [k*hop, min(n, k*hop + win)); a short frame is filled to win samples
// by repeating itself cyclically (an empty frame is zeros). Pre-emphasis
// carries prior = last sample of the previous *filled* frame.
//
// The spectrum is computed in float32, eight frames at a time (one frame per
// SIMD lane) with a 512-point complex FFT of the packed real frame. The code is
// compiled twice (baseline and AVX2+FMA) and chosen at run time.
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

// Read-only tables used by the kernels (pointers into a LogMelPlan).
struct KernelTables {
  int half = 0;        // n_fft / 2 complex points
  int win = 0;         // window length
  int n_mels = 0;
  int n_bins = 0;      // power bins actually used by the filterbank
  float preemph = 0.f;
  float floor = 0.f;
  const float* window = nullptr;   // [win]
  const float* tw_re = nullptr;    // twiddles of the DIF stage with half-size h at offset h-1
  const float* tw_im = nullptr;
  const int32_t* bitrev = nullptr; // [half]
  const float* post_re = nullptr;  // real-FFT split twiddles [n_bins]
  const float* post_im = nullptr;
  const int32_t* fb_start = nullptr;  // first bin of filter i
  const int32_t* fb_len = nullptr;    // number of bins of filter i
  const int32_t* fb_off = nullptr;    // offset of its weights in fb_w
  const float* fb_w = nullptr;
};

// Instruction set used by the kernels.
enum class Isa { kGeneric, kAvx2 };
Isa best_isa();
const char* isa_name(Isa isa);

// Scratch memory of one kernel call (32-byte aligned).
class KernelScratch {
 public:
  explicit KernelScratch(const KernelTables& t);
  float* re() { return buf_.get(); }
  float* im() { return buf_.get() + 8 * static_cast<size_t>(half_); }
  float* power() { return buf_.get() + 16 * static_cast<size_t>(half_); }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  int half_;
  std::unique_ptr<float, Free> buf_;
};

class LogMelPlan {
 public:
  explicit LogMelPlan(const LogMelConfig& config, Isa isa);
  explicit LogMelPlan(const LogMelConfig& config) : LogMelPlan(config, best_isa()) {}

  const LogMelConfig& config() const { return config_; }
  Isa isa() const { return isa_; }
  int n_mels() const { return config_.n_mels; }
  int64_t num_frames(int64_t n_samples) const { return n_samples / config_.hop_length + 1; }
  const KernelTables& tables() const { return tables_; }

  // Log-mel of `count` frames into out[count * n_mels]; samples are multiplied by
  // `scale` first. Frames are processed in SIMD blocks of 8 (results per frame do not
  // depend on the block composition).
  void compute_frames(const FrameRef* frames, int64_t count, float scale, float* out,
                      KernelScratch& scratch) const;

  // Whole signal x[n] -> out[num_frames(n) * n_mels]. threads >= 1.
  void compute(const float* x, int64_t n, float scale, float* out, int threads) const;

 private:
  LogMelConfig config_;
  Isa isa_;
  std::vector<float> window_, tw_re_, tw_im_, post_re_, post_im_, fb_w_;
  std::vector<int32_t> bitrev_, fb_start_, fb_len_, fb_off_;
  KernelTables tables_;
};

// Fills a short frame (len < win samples starting at x) cyclically into dst[win].
void fill_cyclic(const float* x, int64_t len, int win, float* dst);

namespace kernel_generic {
void compute_frames(const KernelTables& t, const FrameRef* frames, int64_t count, float scale,
                    float* out, float* re, float* im, float* power);
}
namespace kernel_avx2 {
bool available();
void compute_frames(const KernelTables& t, const FrameRef* frames, int64_t count, float scale,
                    float* out, float* re, float* im, float* power);
}

}  // namespace cmp_edge
