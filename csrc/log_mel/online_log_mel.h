// Streaming CMP log-mel: accept audio in any chunks; frames equal the batch result.
//
// Full frames are computed as soon as their last sample arrives. After
// input_finished() the tail frames (short frames filled cyclically, as in the
// batch definition) are computed. Frame indices are absolute; pop(n) releases
// the oldest n frames without renumbering. All methods are thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "log_mel/log_mel.h"

namespace cmp_edge {

class OnlineLogMel {
 public:
  explicit OnlineLogMel(const LogMelConfig& config);

  // Appends n samples, each multiplied by `scale`. Throws std::runtime_error after
  // input_finished(), std::invalid_argument for NaN/Inf samples.
  void accept_waveform(const float* x, int64_t n, float scale);
  // Computes the tail frames; further calls do nothing.
  void input_finished();

  int64_t num_frames_ready() const;
  int64_t first_frame() const;
  int64_t num_samples() const;
  bool is_finished() const;
  const LogMelPlan& plan() const { return plan_; }

  // Copies frames [start, start + n) into out[n * n_mels]. Throws std::out_of_range.
  void get_frames(int64_t start, int64_t n, float* out) const;
  // Releases the n oldest held frames. Throws std::out_of_range.
  void pop(int64_t n);

 private:
  void compute_ready_full_frames();  // caller holds mu_

  LogMelPlan plan_;
  KernelScratch scratch_;
  mutable std::mutex mu_;
  std::vector<float> samples_;   // scaled samples from absolute index samples_off_
  int64_t samples_off_ = 0;
  int64_t received_ = 0;         // total samples accepted
  int64_t next_frame_ = 0;       // next frame to compute
  float prior_ = 0.f;            // pre-emphasis state for next_frame_ (scaled)
  bool finished_ = false;
  std::vector<float> frames_;    // computed frames from absolute index frames_off_
  int64_t frames_off_ = 0;       // absolute index of frames_[0]
  int64_t first_frame_ = 0;      // oldest frame not popped (>= frames_off_)
  std::vector<FrameRef> refs_;
};

}  // namespace cmp_edge
