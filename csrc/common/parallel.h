// Minimal parallel-for over an index range with std::thread (no OpenMP, so the
// extension never brings a second OpenMP runtime next to PyTorch's).
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace cmp_edge {

// Number of hardware threads (at least 1): the default and the upper bound of
// every thread count.
inline int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min<unsigned>(hw, 1024));
}

// Thread count actually used for a request: <= 0 means all hardware threads;
// larger requests are clamped to the hardware threads (more only adds overhead).
inline int clamp_threads(int threads) {
  const int hw = default_threads();
  return (threads <= 0 || threads > hw) ? hw : threads;
}

// Calls fn(begin, end) on up to `threads` contiguous chunks of [0, n) (see
// clamp_threads). Chunks are at least `grain` long. A worker thread that cannot
// be started (std::system_error: no memory for its stack, process limits) is
// not fatal: its chunks run on the calling thread instead. The first exception
// thrown by any chunk is rethrown after every started thread has been joined.
template <typename Fn>
void parallel_for(int64_t n, int threads, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  threads = clamp_threads(threads);
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int64_t chunks = std::min<int64_t>(threads, max_chunks);
  if (chunks <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  const int64_t step = (n + chunks - 1) / chunks;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(chunks));
  auto run_chunk = [&](int64_t c) {
    const int64_t b = c * step, e = std::min(n, b + step);
    try {
      if (b < e) fn(b, e);
    } catch (...) {
      errors[static_cast<size_t>(c)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  int64_t started = 1;  // chunk 0 always runs on the calling thread
  try {
    pool.reserve(static_cast<size_t>(chunks - 1));
    for (; started < chunks; ++started) {
      const int64_t c = started;
      pool.emplace_back([&run_chunk, c] { run_chunk(c); });
    }
  } catch (...) {
    // std::system_error or std::bad_alloc: fewer threads; the rest runs below.
  }
  run_chunk(0);
  for (int64_t c = started; c < chunks; ++c) run_chunk(c);
  for (auto& t : pool) t.join();
  for (auto& err : errors)
    if (err) std::rethrow_exception(err);
}

}  // namespace cmp_edge
