// Helpers shared by the frontend bindings (log_mel_py.cc, online_log_mel_py.cc).
#pragma once

#include <pybind11/numpy.h>

#include <memory>
#include <string>

#include "log_mel/log_mel.h"

namespace cmp_edge {

// Validated options (std::invalid_argument -> ValueError).
LogMelConfig make_log_mel_config(int sample_rate, int n_mels, double f_min, double f_max,
                                 int n_fft, int win_length, int hop_length, double preemphasis,
                                 const std::string& window, double floor);

// A plan for isa "auto" | "generic" | "avx2+fma" and precision "auto" | "float32" | "float64".
std::unique_ptr<LogMelPlan> make_log_mel_plan(const LogMelConfig& config, const std::string& isa,
                             const std::string& precision);

// A 1-D real numeric NumPy array as contiguous float32 (cast/copied when needed);
// other inputs raise ValueError.
pybind11::array_t<float> signal_arg(const pybind11::handle& obj, const char* what);

}  // namespace cmp_edge
