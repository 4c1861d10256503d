// Contract checks that stay on in every build (never assert()).
//
// CMP_CHECK_ARG(cond, msg)   -> std::invalid_argument  (Python ValueError)
// CMP_CHECK_INDEX(cond, msg) -> std::out_of_range      (Python IndexError)
// CMP_CHECK_STATE(cond, msg) -> std::runtime_error     (Python RuntimeError)
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace cmp_edge {

template <typename E, typename... Parts>
[[noreturn]] void throw_error(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw E(os.str());
}

}  // namespace cmp_edge

#define CMP_CHECK_ARG(cond, ...) \
  do { if (!(cond)) ::cmp_edge::throw_error<std::invalid_argument>(__VA_ARGS__); } while (0)
#define CMP_CHECK_INDEX(cond, ...) \
  do { if (!(cond)) ::cmp_edge::throw_error<std::out_of_range>(__VA_ARGS__); } while (0)
#define CMP_CHECK_STATE(cond, ...) \
  do { if (!(cond)) ::cmp_edge::throw_error<std::runtime_error>(__VA_ARGS__); } while (0)
