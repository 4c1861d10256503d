// Minimal parallel-for over an index range with std::thread (no OpenMP, so the
// extension never brings a second OpenMP runtime next to PyTorch's).
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace cmp_edge {

// Number of worker threads to use when the caller passes threads <= 0.
inline int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Calls fn(begin, end) on `threads` contiguous chunks of [0, n). Chunks are at
// least `grain` long. The first exception thrown by any chunk is rethrown.
template <typename Fn>
void parallel_for(int64_t n, int threads, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  if (threads <= 0) threads = default_threads();
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int64_t chunks = std::min<int64_t>(threads, max_chunks);
  if (chunks <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(chunks));
  pool.reserve(static_cast<size_t>(chunks - 1));
  const int64_t step = (n + chunks - 1) / chunks;
  for (int64_t c = 1; c < chunks; ++c) {
    const int64_t b = c * step, e = std::min(n, b + step);
    pool.emplace_back([&, c, b, e] {
      try {
        if (b < e) fn(b, e);
      } catch (...) {
        errors[static_cast<size_t>(c)] = std::current_exception();
      }
    });
  }
  try {
    fn(int64_t{0}, std::min(n, step));
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (auto& t : pool) t.join();
  for (auto& err : errors)
    if (err) std::rethrow_exception(err);
}

}  // namespace cmp_edge
