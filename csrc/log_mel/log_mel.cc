// CMP log-mel: options, tables, the baseline kernel build, dispatch, batch driver.
#include "log_mel/log_mel.h"

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
#include "log_mel/log_mel_kernel.inc"
}  // namespace kernel_generic

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr Precision kDefaultPrecision = Precision::kFloat64;

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
  CMP_CHECK_ARG(std::isfinite(floor) && floor >= 1e-30, "floor=", floor, " must be >= 1e-30");
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

Precision default_precision() { return kDefaultPrecision; }

const char* precision_name(Precision p) {
  return p == Precision::kFloat64 ? "float64" : "float32";
}

void KernelScratch::Free::operator()(void* p) const { std::free(p); }

KernelScratch::KernelScratch(int half, int n_bins) {
  const size_t bytes = 32 * (2 * static_cast<size_t>(half) + static_cast<size_t>(n_bins));
  void* p = std::aligned_alloc(64, ((bytes + 63) / 64) * 64);
  if (p == nullptr) throw std::bad_alloc();
  buf_.reset(p);
}

LogMelPlan::LogMelPlan(const LogMelConfig& config)
    : LogMelPlan(config, best_isa(), kDefaultPrecision) {}

LogMelPlan::LogMelPlan(const LogMelConfig& config, Isa isa, Precision precision)
    : config_(config), isa_(isa), precision_(precision) {
  config_.validate();
  CMP_CHECK_ARG(isa != Isa::kAvx2 || kernel_avx2::available(),
                "the AVX2 kernel is not available on this CPU or build");
  const int n_fft = config_.n_fft, win = config_.win_length;
  half_ = n_fft / 2;

  std::vector<double> window(static_cast<size_t>(win));
  const double a0 = config_.window == "hamming" ? 0.54 : 0.5;
  for (int n = 0; n < win; ++n)
    window[static_cast<size_t>(n)] = a0 - (1.0 - a0) * std::cos(2.0 * kPi * n / (win - 1));

  int bits = 0;
  while ((1 << bits) < half_) ++bits;
  bitrev_.resize(static_cast<size_t>(half_));
  for (int k = 0; k < half_; ++k) bitrev_[static_cast<size_t>(k)] = bit_reverse(k, bits);

  // Sphinx filterbank (spec section 1, step 4); only bins with a weight are kept.
  const int n_mels = config_.n_mels;
  const double m_lo = hz_to_mel(config_.f_min), m_hi = hz_to_mel(config_.f_max);
  const double dfreq = static_cast<double>(config_.sample_rate) / n_fft;
  std::vector<double> edges(static_cast<size_t>(n_mels + 2));
  for (int k = 0; k < n_mels + 2; ++k)
    edges[static_cast<size_t>(k)] = mel_to_hz(m_lo + k * (m_hi - m_lo) / (n_mels + 1));
  std::vector<double> fb_w;
  n_bins_ = 1;
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
    const int first = std::min(left + 1, center);
    const int last = std::min(std::max(center, right - 1), half_);
    fb_start_[static_cast<size_t>(i)] = first;
    fb_off_[static_cast<size_t>(i)] = static_cast<int32_t>(fb_w.size());
    for (int b = first; b <= last; ++b) {
      double w = 0.0;
      if (b < center)
        w = (b - left) * height / (center - left);
      else if (b == center)
        w = height;
      else if (b < right)
        w = (b - right) * height / (center - right);
      fb_w.push_back(w);
    }
    fb_len_[static_cast<size_t>(i)] = std::max(0, last - first + 1);
    n_bins_ = std::max(n_bins_, last + 1);
  }
  if (fb_w.empty()) fb_w.push_back(0.0);
  fill_tables(f32_, window, fb_w);
  fill_tables(f64_, window, fb_w);
}

template <typename T>
void LogMelPlan::fill_tables(Tables<T>& t, const std::vector<double>& window,
                             const std::vector<double>& fb_w) const {
  const auto cast = [](const std::vector<double>& v) {
    std::vector<T> r(v.size());
    for (size_t i = 0; i < v.size(); ++i) r[i] = static_cast<T>(v[i]);
    return r;
  };
  t.window = cast(window);
  t.fb_w = cast(fb_w);
  // DIF stage twiddles: the stage with half-size h uses w_j = exp(-2 pi i j / (2h)), j < h.
  t.tw_re.assign(static_cast<size_t>(std::max(half_ - 1, 1)), T(0));
  t.tw_im.assign(t.tw_re.size(), T(0));
  for (int h = 1; h < half_; h *= 2)
    for (int j = 0; j < h; ++j) {
      const double ang = -kPi * j / h;
      t.tw_re[static_cast<size_t>(h - 1 + j)] = static_cast<T>(std::cos(ang));
      t.tw_im[static_cast<size_t>(h - 1 + j)] = static_cast<T>(std::sin(ang));
    }
  t.tw3_re.assign(t.tw_re.size(), T(0));
  t.tw3_im.assign(t.tw_re.size(), T(0));
  for (int q = 1; q < half_; q *= 2)
    for (int j = 0; j < q; ++j) {
      const double ang = -2.0 * kPi * 3.0 * j / (4.0 * q);
      t.tw3_re[static_cast<size_t>(q - 1 + j)] = static_cast<T>(std::cos(ang));
      t.tw3_im[static_cast<size_t>(q - 1 + j)] = static_cast<T>(std::sin(ang));
    }
  // Real-FFT split twiddles W^k = exp(-2 pi i k / n_fft).
  t.post_re.resize(static_cast<size_t>(n_bins_));
  t.post_im.resize(static_cast<size_t>(n_bins_));
  for (int k = 0; k < n_bins_; ++k) {
    const double ang = -2.0 * kPi * k / config_.n_fft;
    t.post_re[static_cast<size_t>(k)] = static_cast<T>(std::cos(ang));
    t.post_im[static_cast<size_t>(k)] = static_cast<T>(std::sin(ang));
  }
  KernelTablesT<T>& v = t.view;
  v.half = half_;
  v.win = config_.win_length;
  v.n_mels = config_.n_mels;
  v.n_bins = n_bins_;
  v.preemph = config_.preemphasis;
  v.floor = config_.floor;
  v.window = t.window.data();
  v.tw_re = t.tw_re.data();
  v.tw_im = t.tw_im.data();
  v.tw3_re = t.tw3_re.data();
  v.tw3_im = t.tw3_im.data();
  v.bitrev = bitrev_.data();
  v.post_re = t.post_re.data();
  v.post_im = t.post_im.data();
  v.fb_start = fb_start_.data();
  v.fb_len = fb_len_.data();
  v.fb_off = fb_off_.data();
  v.fb_w = t.fb_w.data();
}

void LogMelPlan::compute_frames(const FrameRef* frames, int64_t count, float scale, float* out,
                                KernelScratch& scratch) const {
  if (count <= 0) return;
  void* mem = scratch.data();
  if (isa_ == Isa::kAvx2) {
    if (precision_ == Precision::kFloat64)
      kernel_avx2::compute_frames(f64_.view, frames, count, scale, out, mem);
    else
      kernel_avx2::compute_frames(f32_.view, frames, count, scale, out, mem);
  } else {
    if (precision_ == Precision::kFloat64)
      kernel_generic::compute_frames(f64_.view, frames, count, scale, out, mem);
    else
      kernel_generic::compute_frames(f32_.view, frames, count, scale, out, mem);
  }
}

int64_t first_non_finite(const float* x, int64_t n) {
  // A float is NaN or Inf exactly when its exponent bits are all ones; OR-reduce
  // that test over blocks (integer code the compiler vectorises), then locate.
  constexpr int64_t kBlock = 4096;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    uint32_t bad = 0;
    for (int64_t i = b; i < e; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof bits);
      bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (bad)
      for (int64_t i = b; i < e; ++i)
        if (!std::isfinite(x[i])) return i;
  }
  return -1;
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
    KernelScratch scratch = make_scratch();
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
  KernelScratch scratch = make_scratch();
  compute_frames(refs.data(), n_tail, scale, out + n_full * n_mels, scratch);
}

}  // namespace cmp_edge
