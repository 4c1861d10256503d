// CMP log-mel: options, tables, the baseline kernel build, dispatch, batch driver.
#include "log_mel.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/check.h"
#include "common/parallel.h"

namespace cmp_edge {

// The kernel's helpers pass 32-byte vectors by value; they have internal linkage,
// so the baseline calling convention for them (-Wpsabi) concerns no other code.
// GCC reports it at the end of the file, so it stays off for this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
namespace kernel_generic {
#include "log_mel_kernel.inc"
}  // namespace kernel_generic

namespace {

constexpr double kPi = 3.14159265358979323846;

double hz_to_mel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double mel_to_hz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }

int bit_reverse(int v, int bits) {
  int r = 0;
  for (int b = 0; b < bits; ++b) r |= ((v >> b) & 1) << (bits - 1 - b);
  return r;
}

}  // namespace

void LogMelConfig::validate() const {
  CMP_CHECK_ARG(sample_rate >= 1000 && sample_rate <= 1000000, "sample_rate=", sample_rate,
                " Hz is out of range 1000..1000000");
  CMP_CHECK_ARG(n_fft >= 16 && n_fft <= 65536 && (n_fft & (n_fft - 1)) == 0, "n_fft=", n_fft,
                " must be a power of two in 16..65536");
  CMP_CHECK_ARG(win_length >= 2 && win_length <= n_fft, "win_length=", win_length,
                " must be in 2..n_fft (", n_fft, ")");
  CMP_CHECK_ARG(hop_length >= 1, "hop_length=", hop_length, " must be >= 1");
  CMP_CHECK_ARG(n_mels >= 1 && n_mels <= 4096, "n_mels=", n_mels, " must be in 1..4096");
  CMP_CHECK_ARG(std::isfinite(f_min) && std::isfinite(f_max) && f_min >= 0.0 && f_min < f_max &&
                    f_max <= sample_rate / 2.0,
                "need 0 <= f_min < f_max <= sample_rate / 2, got f_min=", f_min,
                ", f_max=", f_max);
  CMP_CHECK_ARG(std::isfinite(preemphasis) && preemphasis >= 0.0 && preemphasis < 1.0,
                "preemphasis=", preemphasis, " must be in [0, 1)");
  CMP_CHECK_ARG(window == "hamming" || window == "hann", "window='", window,
                "' must be 'hamming' or 'hann'");
  CMP_CHECK_ARG(std::isfinite(floor) && floor > 0.0, "floor=", floor, " must be > 0");
}

std::string LogMelConfig::repr() const {
  std::ostringstream os;
  os << "sample_rate=" << sample_rate << ", n_mels=" << n_mels << ", f_min=" << f_min
     << ", f_max=" << f_max << ", n_fft=" << n_fft << ", win_length=" << win_length
     << ", hop_length=" << hop_length << ", preemphasis=" << preemphasis << ", window='"
     << window << "', floor=" << floor;
  return os.str();
}

Isa best_isa() { return kernel_avx2::available() ? Isa::kAvx2 : Isa::kGeneric; }

const char* isa_name(Isa isa) { return isa == Isa::kAvx2 ? "avx2+fma" : "generic"; }

void KernelScratch::Free::operator()(float* p) const { std::free(p); }

KernelScratch::KernelScratch(const KernelTables& t) : half_(t.half) {
  const size_t floats = 8 * (2 * static_cast<size_t>(t.half) + static_cast<size_t>(t.n_bins));
  const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (p == nullptr) throw std::bad_alloc();
  buf_.reset(p);
}

LogMelPlan::LogMelPlan(const LogMelConfig& config, Isa isa) : config_(config), isa_(isa) {
  config_.validate();
  CMP_CHECK_ARG(isa != Isa::kAvx2 || kernel_avx2::available(),
                "the AVX2 kernel is not available on this CPU or build");
  const int n_fft = config_.n_fft, half = n_fft / 2, win = config_.win_length;
  const double rate = config_.sample_rate;

  window_.resize(static_cast<size_t>(win));
  const double a0 = config_.window == "hamming" ? 0.54 : 0.5;
  for (int n = 0; n < win; ++n)
    window_[static_cast<size_t>(n)] =
        static_cast<float>(a0 - (1.0 - a0) * std::cos(2.0 * kPi * n / (win - 1)));

  // DIF stage twiddles: stage with half-size h uses w_j = exp(-2 pi i j / (2h)), j < h.
  tw_re_.assign(static_cast<size_t>(std::max(half - 1, 1)), 0.f);
  tw_im_.assign(tw_re_.size(), 0.f);
  for (int h = 1; h < half; h *= 2)
    for (int j = 0; j < h; ++j) {
      const double ang = -kPi * j / h;
      tw_re_[static_cast<size_t>(h - 1 + j)] = static_cast<float>(std::cos(ang));
      tw_im_[static_cast<size_t>(h - 1 + j)] = static_cast<float>(std::sin(ang));
    }
  int bits = 0;
  while ((1 << bits) < half) ++bits;
  bitrev_.resize(static_cast<size_t>(half));
  for (int k = 0; k < half; ++k) bitrev_[static_cast<size_t>(k)] = bit_reverse(k, bits);

  // Sphinx filterbank.
  const int n_mels = config_.n_mels;
  const double m_lo = hz_to_mel(config_.f_min), m_hi = hz_to_mel(config_.f_max);
  const double dfreq = rate / n_fft;
  std::vector<double> edges(static_cast<size_t>(n_mels + 2));
  for (int k = 0; k < n_mels + 2; ++k)
    edges[static_cast<size_t>(k)] = mel_to_hz(m_lo + k * (m_hi - m_lo) / (n_mels + 1));
  int n_bins = 1;
  fb_start_.resize(static_cast<size_t>(n_mels));
  fb_len_.resize(static_cast<size_t>(n_mels));
  fb_off_.resize(static_cast<size_t>(n_mels));
  for (int i = 0; i < n_mels; ++i) {
    const auto bin = [&](int k) {
      return static_cast<int>(std::lround(edges[static_cast<size_t>(k)] / dfreq));
    };
    const int left = bin(i), center = bin(i + 1), right = bin(i + 2);
    CMP_CHECK_ARG(right > left, "mel filter ", i, " has no width (", n_mels,
                  " filters are too many for n_fft=", n_fft, " between ", config_.f_min,
                  " and ", config_.f_max, " Hz)");
    const double height = 2.0 / ((right - left) * dfreq);
    const int first = std::min(left + 1, center), last = std::min(std::max(center, right - 1), half);
    fb_start_[static_cast<size_t>(i)] = first;
    fb_off_[static_cast<size_t>(i)] = static_cast<int32_t>(fb_w_.size());
    for (int b = first; b <= last; ++b) {
      double w = 0.0;
      if (b < center)
        w = (b - left) * height / (center - left);
      else if (b == center)
        w = height;
      else if (b < right)
        w = (b - right) * height / (center - right);
      fb_w_.push_back(static_cast<float>(w));
    }
    fb_len_[static_cast<size_t>(i)] = std::max(0, last - first + 1);
    n_bins = std::max(n_bins, last + 1);
  }
  if (fb_w_.empty()) fb_w_.push_back(0.f);

  post_re_.resize(static_cast<size_t>(n_bins));
  post_im_.resize(static_cast<size_t>(n_bins));
  for (int k = 0; k < n_bins; ++k) {
    const double ang = -2.0 * kPi * k / n_fft;
    post_re_[static_cast<size_t>(k)] = static_cast<float>(std::cos(ang));
    post_im_[static_cast<size_t>(k)] = static_cast<float>(std::sin(ang));
  }

  tables_.half = half;
  tables_.win = win;
  tables_.n_mels = n_mels;
  tables_.n_bins = n_bins;
  tables_.preemph = static_cast<float>(config_.preemphasis);
  tables_.floor = static_cast<float>(config_.floor);
  tables_.window = window_.data();
  tables_.tw_re = tw_re_.data();
  tables_.tw_im = tw_im_.data();
  tables_.bitrev = bitrev_.data();
  tables_.post_re = post_re_.data();
  tables_.post_im = post_im_.data();
  tables_.fb_start = fb_start_.data();
  tables_.fb_len = fb_len_.data();
  tables_.fb_off = fb_off_.data();
  tables_.fb_w = fb_w_.data();
}

void LogMelPlan::compute_frames(const FrameRef* frames, int64_t count, float scale, float* out,
                                KernelScratch& scratch) const {
  if (count <= 0) return;
  if (isa_ == Isa::kAvx2)
    kernel_avx2::compute_frames(tables_, frames, count, scale, out, scratch.re(), scratch.im(),
                                scratch.power());
  else
    kernel_generic::compute_frames(tables_, frames, count, scale, out, scratch.re(), scratch.im(),
                                   scratch.power());
}

void fill_cyclic(const float* x, int64_t len, int win, float* dst) {
  if (len <= 0) {
    std::fill(dst, dst + win, 0.f);
    return;
  }
  for (int n = 0; n < win; ++n) dst[n] = x[n % len];
}

void LogMelPlan::compute(const float* x, int64_t n, float scale, float* out, int threads) const {
  CMP_CHECK_ARG(n >= 0, "negative sample count");
  const int64_t hop = config_.hop_length, win = config_.win_length;
  const int64_t count = num_frames(n);
  const int64_t n_full = n >= win ? (n - win) / hop + 1 : 0;
  const int n_mels = config_.n_mels;

  // Full frames: independent (the prior of frame k >= 1 is sample (k-1)*hop + win - 1).
  constexpr int64_t kChunk = 256;
  const int64_t chunks = (n_full + kChunk - 1) / kChunk;
  parallel_for(chunks, std::max(threads, 1), 1, [&](int64_t c0, int64_t c1) {
    KernelScratch scratch(tables_);
    std::vector<FrameRef> refs(static_cast<size_t>(kChunk));
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t k0 = c * kChunk, k1 = std::min(n_full, k0 + kChunk);
      for (int64_t k = k0; k < k1; ++k)
        refs[static_cast<size_t>(k - k0)] = {x + k * hop, k == 0 ? 0.f : x[(k - 1) * hop + win - 1]};
      compute_frames(refs.data(), k1 - k0, scale, out + k0 * n_mels, scratch);
    }
  });

  // Tail frames: filled cyclically, prior chained through the filled frames.
  const int64_t n_tail = count - n_full;
  if (n_tail <= 0) return;
  std::vector<float> filled(static_cast<size_t>(n_tail * win));
  std::vector<FrameRef> refs(static_cast<size_t>(n_tail));
  float prior = n_full == 0 ? 0.f : x[(n_full - 1) * hop + win - 1];
  for (int64_t k = n_full; k < count; ++k) {
    float* dst = filled.data() + (k - n_full) * win;
    const int64_t start = k * hop;
    fill_cyclic(x + std::min(start, n), std::max<int64_t>(0, n - start), static_cast<int>(win), dst);
    refs[static_cast<size_t>(k - n_full)] = {dst, prior};
    prior = dst[win - 1];
  }
  KernelScratch scratch(tables_);
  compute_frames(refs.data(), n_tail, scale, out + n_full * n_mels, scratch);
}

}  // namespace cmp_edge
