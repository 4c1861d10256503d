"""Synthetic test signals shared by the frontend tests and benchmarks (float64 in [-1, 1))."""

from __future__ import annotations

import numpy as np

RATE = 16000
FULL_SCALE_MAX = 32767.0 / 32768.0


def synthetic(name: str, n: int, seed: int = 0) -> np.ndarray:
    """A named synthetic signal of n samples at 16 kHz."""
    t = np.arange(n) / RATE
    rng = np.random.default_rng(seed)
    if name == "tone_low":
        return 0.9 * np.sin(2 * np.pi * 50.0 * t)
    if name == "tone_1k":
        return 0.5 * np.sin(2 * np.pi * 1000.0 * t + 0.3)
    if name == "tone_7k":
        return 0.5 * np.sin(2 * np.pi * 7000.0 * t)
    if name == "tone_quiet":
        return 1e-4 * np.sin(2 * np.pi * 300.0 * t)
    if name == "chirp":
        # 20 Hz -> 7.98 kHz linear sweep over 10 s
        return 0.5 * np.sin(2 * np.pi * (20.0 * t + 398.0 * t**2))
    if name == "noise":
        return rng.uniform(-1.0, FULL_SCALE_MAX, n)
    if name == "silence":
        return np.zeros(n)
    if name == "clipped":
        return np.clip(3.0 * np.sin(2 * np.pi * 220.0 * t), -1.0, FULL_SCALE_MAX)
    if name == "dc":
        return np.full(n, 0.25)
    if name == "speechlike":
        # noise bursts with silent gaps, amplitude-modulated harmonics
        env = (np.sin(2 * np.pi * 3.0 * t) > 0).astype(float)
        f0 = 120.0 + 30.0 * np.sin(2 * np.pi * 0.5 * t)
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
        return 0.2 * env * voiced + 0.01 * rng.standard_normal(n)
    raise ValueError(name)


NAMES = (
    "tone_low",
    "tone_1k",
    "tone_7k",
    "tone_quiet",
    "chirp",
    "noise",
    "silence",
    "clipped",
    "dc",
    "speechlike",
)
