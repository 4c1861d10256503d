#include "log_mel/online_log_mel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/check.h"

namespace cmp_edge {

OnlineLogMel::OnlineLogMel(const LogMelConfig& config) : plan_(config), scratch_(plan_.make_scratch()) {}

void OnlineLogMel::accept_waveform(const float* x, int64_t n, float scale) {
  std::lock_guard<std::mutex> lock(mu_);
  CMP_CHECK_STATE(!finished_, "accept_waveform() called after input_finished(); "
                              "create a new OnlineLogMel for the next utterance");
  CMP_CHECK_ARG(n >= 0, "negative sample count");
  CMP_CHECK_ARG(std::isfinite(scale), "scale must be finite");
  const int64_t bad = first_non_finite(x, n);
  CMP_CHECK_ARG(bad < 0, "samples contain NaN or Inf (index ", bad, " of this chunk)");
  const size_t old = samples_.size();
  samples_.resize(old + static_cast<size_t>(n));
  float* dst = samples_.data() + old;
  for (int64_t i = 0; i < n; ++i) dst[i] = x[i] * scale;
  received_ += n;
  compute_ready_full_frames();
}

void OnlineLogMel::compute_ready_full_frames() {
  const int64_t hop = plan_.config().hop_length, win = plan_.config().win_length;
  if (received_ < win) return;
  const int64_t last_full = (received_ - win) / hop;  // frames [0, last_full] are full
  const int64_t count = last_full + 1 - next_frame_;
  if (count <= 0) return;
  const int n_mels = plan_.n_mels();
  refs_.resize(static_cast<size_t>(count));
  float prior = prior_;
  for (int64_t c = 0; c < count; ++c) {
    const int64_t k = next_frame_ + c;
    const float* frame = samples_.data() + (k * hop - samples_off_);
    refs_[static_cast<size_t>(c)] = {frame, prior};
    prior = frame[win - 1];
  }
  const size_t old = frames_.size();
  frames_.resize(old + static_cast<size_t>(count * n_mels));
  plan_.compute_frames(refs_.data(), count, 1.0f, frames_.data() + old, scratch_);
  prior_ = prior;
  next_frame_ += count;
  // Drop samples no later frame needs (amortised: only when at least half is dead).
  const int64_t keep_from = std::min(next_frame_ * hop, received_);
  const int64_t dead = keep_from - samples_off_;
  if (dead > 0 && static_cast<size_t>(dead) * 2 >= samples_.size()) {
    samples_.erase(samples_.begin(), samples_.begin() + dead);
    samples_off_ = keep_from;
  }
}

void OnlineLogMel::input_finished() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  compute_ready_full_frames();
  const int64_t hop = plan_.config().hop_length;
  const int win = plan_.config().win_length;
  const int64_t total = received_ / hop + 1;
  const int64_t count = total - next_frame_;
  finished_ = true;
  if (count <= 0) return;
  std::vector<float> filled(static_cast<size_t>(count * win));
  refs_.resize(static_cast<size_t>(count));
  float prior = prior_;
  for (int64_t c = 0; c < count; ++c) {
    const int64_t start = (next_frame_ + c) * hop;
    const int64_t len = std::max<int64_t>(0, received_ - start);
    float* dst = filled.data() + c * win;
    fill_cyclic(samples_.data() + (std::min(start, received_) - samples_off_), len, win, dst);
    refs_[static_cast<size_t>(c)] = {dst, prior};
    prior = dst[win - 1];
  }
  const int n_mels = plan_.n_mels();
  const size_t old = frames_.size();
  frames_.resize(old + static_cast<size_t>(count * n_mels));
  plan_.compute_frames(refs_.data(), count, 1.0f, frames_.data() + old, scratch_);
  next_frame_ = total;
  prior_ = prior;
  samples_.clear();
  samples_.shrink_to_fit();
  samples_off_ = received_;
}

int64_t OnlineLogMel::num_frames_ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_frame_;
}

int64_t OnlineLogMel::first_frame() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_frame_;
}

int64_t OnlineLogMel::num_samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

bool OnlineLogMel::is_finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

void OnlineLogMel::get_frames(int64_t start, int64_t n, float* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  CMP_CHECK_INDEX(n >= 0, "get_frames: n=", n, " must be >= 0");
  CMP_CHECK_INDEX(start >= first_frame_ && start <= next_frame_ && n <= next_frame_ - start,
                  "get_frames(", start, ", ", n, ") is outside the held frames [", first_frame_,
                  ", ", next_frame_, ")");
  const int n_mels = plan_.n_mels();
  if (n == 0) return;
  std::memcpy(out, frames_.data() + (start - frames_off_) * n_mels,
              static_cast<size_t>(n * n_mels) * sizeof(float));
}

void OnlineLogMel::pop(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  CMP_CHECK_INDEX(n >= 0 && n <= next_frame_ - first_frame_, "pop(", n, "): only ",
                  next_frame_ - first_frame_, " frames are held");
  first_frame_ += n;
  const int64_t dead = first_frame_ - frames_off_;
  const int n_mels = plan_.n_mels();
  if (dead > 0 && static_cast<size_t>(dead * n_mels) * 2 >= frames_.size()) {
    frames_.erase(frames_.begin(), frames_.begin() + dead * n_mels);
    frames_off_ = first_frame_;
  }
}

}  // namespace cmp_edge
