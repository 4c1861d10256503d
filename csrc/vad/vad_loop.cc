#include "vad/vad_loop.h"

#include <cmath>
#include <stdexcept>

namespace cmp_edge {

namespace {

int16_t to_pcm(float x) {
  // rint in float32 (round half to even), then clip: cmp_edge.audio.signal.to_int16.
  const float r = std::nearbyint(x * 32768.0f);
  if (r <= -32768.0f) return -32768;
  if (r >= 32767.0f) return 32767;
  return static_cast<int16_t>(r);
}

void add_range(std::vector<std::pair<int64_t, int64_t>>& ranges, int64_t a, int64_t b) {
  if (!ranges.empty() && ranges.back().second == a) {
    ranges.back().second = b;
  } else {
    ranges.emplace_back(a, b);
  }
}

}  // namespace

VadLoop::VadLoop(VadProcessFn process, void* instance) : process_(process), instance_(instance) {
  if (process == nullptr || instance == nullptr) {
    throw std::invalid_argument("VadLoop: null VAD function or instance");
  }
}

void VadLoop::accept(const float* samples, int64_t n_frames,
                     std::vector<std::pair<int64_t, int64_t>>& voiced,
                     std::vector<std::pair<int64_t, int64_t>>& segments) {
  for (int64_t j = 0; j < n_frames; ++j) {
    const int64_t index = frames_seen_ + j;
    // push (a full ring drops its oldest frame, like deque(maxlen=2).append)
    if (size_ == kRing) {
      head_ = (head_ + 1) % kRing;
      --size_;
    }
    Slot& slot = ring_[static_cast<size_t>((head_ + size_) % kRing)];
    ++size_;
    slot.index = index;
    const float* frame = samples + j * kFrame;
    for (int64_t i = 0; i < kFrame; ++i) slot.pcm[static_cast<size_t>(i)] = to_pcm(frame[i]);
    int votes = 0;
    for (int i = 0; i < size_; ++i) {
      const Slot& s = ring_[static_cast<size_t>((head_ + i) % kRing)];
      const int r = process_(instance_, kRate, s.pcm.data(), static_cast<size_t>(kFrame));
      if (r < 0) throw std::runtime_error("webrtcvad: WebRtcVad_Process failed");
      votes += r > 0 ? 1 : 0;
    }
    if (!triggered_) {
      if (votes > 0.9 * kRing) {
        triggered_ = true;
        start_ = ring_[static_cast<size_t>(head_)].index;
        add_range(voiced, start_, index + 1);
        size_ = 0;
      }
    } else {
      add_range(voiced, index, index + 1);
      if (size_ - votes > 0.9 * kRing) {
        triggered_ = false;
        segments.emplace_back(start_, index + 1);
        size_ = 0;
      }
    }
  }
  frames_seen_ += n_frames;
}

}  // namespace cmp_edge
