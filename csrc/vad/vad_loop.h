// The published WebRTC VAD decision loop (spec section 2) without Python in the
// per-frame path.
//
// The loop is the one of cmp_edge.audio.vad.StreamingVad: 20 ms frames of 320
// samples at 16 kHz, a ring of the last two frames, and at every step the VAD
// is asked about every frame in the ring, oldest first, on one stateful VAD
// instance. This class makes exactly the same sequence of calls to the same
// library function (webrtcvad's WebRtcVad_Process, reached through the
// already-loaded Python module), so its decisions are the published ones; it
// only removes the per-frame Python work (slicing, bytes objects, method calls)
// and converts float samples to int16 PCM on the fly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace cmp_edge {

// int WebRtcVad_Process(VadInst* handle, int fs, const int16_t* frame, size_t length):
// 1 voiced, 0 unvoiced, -1 error.
using VadProcessFn = int (*)(void*, int, const int16_t*, size_t);

class VadLoop {
 public:
  static constexpr int kRate = 16000;
  static constexpr int64_t kFrame = 320;
  static constexpr int kRing = 2;

  // process and instance come from the webrtcvad module (not owned).
  VadLoop(VadProcessFn process, void* instance);

  // Runs the loop over n_frames frames of samples (float in [-1, 1), converted
  // like cmp_edge.audio.signal.to_int16: rint(x * 32768) clipped to int16).
  // Frame j has the global index frames_seen() + j. Appends to `voiced` the
  // global frame ranges [a, b) that became voiced (in order; a may be
  // frames_seen() - 1, the last frame of the previous call, still in the ring)
  // and to `segments` the closed segments as frame ranges [start, end).
  // Throws std::runtime_error when the VAD reports an error.
  void accept(const float* samples, int64_t n_frames,
              std::vector<std::pair<int64_t, int64_t>>& voiced,
              std::vector<std::pair<int64_t, int64_t>>& segments);

  bool triggered() const { return triggered_; }
  int64_t start() const { return start_; }
  int64_t frames_seen() const { return frames_seen_; }

 private:
  struct Slot {
    int64_t index;
    std::array<int16_t, kFrame> pcm;
  };
  VadProcessFn process_;
  void* instance_;
  std::array<Slot, kRing> ring_{};  // ring_[(head_ + i) % kRing], i < size_
  int head_ = 0;
  int size_ = 0;
  bool triggered_ = false;
  int64_t start_ = 0;
  int64_t frames_seen_ = 0;
};

}  // namespace cmp_edge
