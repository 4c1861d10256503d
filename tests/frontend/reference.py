"""Independent NumPy float64 references of the CMP features (spec section 1), for tests.

Written from the specification text only. Two forms:

- :func:`reference_log_mel`: vectorised over frames (the parity reference, and the
  "vectorised NumPy" entry of the benchmarks);
- :func:`per_frame_log_mel`: one frame at a time with a Python pre-emphasis loop, the
  style of the published implementation (a benchmark baseline only).
"""

from __future__ import annotations

import numpy as np

HOP = 160
WIN = 400
N_FFT = 1024
RATE = 16000
ALPHA = 0.97
FLOOR = 1e-5


def _mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _melinv(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def reference_filterbank(
    n_mels: int = 64,
    f_min: float = 20.0,
    f_max: float = 7200.0,
    n_fft: int = N_FFT,
    rate: int = RATE,
) -> np.ndarray:
    """Sphinx mel filterbank, float64 (n_fft // 2 + 1, n_mels)."""
    m_lo, m_hi = _mel(f_min), _mel(f_max)
    edges = _melinv(m_lo + np.arange(n_mels + 2) * (m_hi - m_lo) / (n_mels + 1))
    dfreq = rate / n_fft
    weights = np.zeros((n_fft // 2 + 1, n_mels))
    for i in range(n_mels):
        left, center, right = (int(round(e / dfreq)) for e in edges[i : i + 3])
        height = 2.0 / ((right - left) * dfreq)
        for b in range(left + 1, center):
            weights[b, i] = (b - left) * height / (center - left)
        weights[center, i] = height
        for b in range(center + 1, right):
            weights[b, i] = (b - right) * height / (center - right)
    return weights


def hamming(n: int = WIN) -> np.ndarray:
    """Symmetric Hamming window of n points."""
    return 0.54 - 0.46 * np.cos(2.0 * np.pi * np.arange(n) / (n - 1))


def filled_frames(x: np.ndarray, hop: int = HOP, win: int = WIN) -> np.ndarray:
    """(T, win) frames of x; short frames filled cyclically, empty frames zero."""
    n = len(x)
    count = n // hop + 1
    frames = np.zeros((count, win))
    for k in range(count):
        part = x[k * hop : min(n, k * hop + win)]
        frames[k] = np.resize(part, win) if len(part) else 0.0
    return frames


def hann(n: int = WIN) -> np.ndarray:
    """Symmetric Hann window of n points."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / (n - 1))


def reference_log_mel(
    samples: np.ndarray, weights: np.ndarray | None = None, window: np.ndarray | None = None
) -> np.ndarray:
    """Raw CMP log-mel in float64, (T, n_mels). samples on the int16 scale."""
    x = np.asarray(samples, dtype=np.float64)
    if weights is None:
        weights = reference_filterbank()
    if window is None:
        window = hamming()
    n = len(x)
    count = n // HOP + 1
    n_full = 0 if n < WIN else (n - WIN) // HOP + 1
    frames = np.empty((count, WIN))
    if n_full:
        idx = np.arange(n_full)[:, None] * HOP + np.arange(WIN)[None, :]
        frames[:n_full] = x[idx]
    if count > n_full:
        frames[n_full:] = filled_frames(x)[n_full:]
    prior = np.concatenate([[0.0], frames[:-1, -1]])
    emph = frames.copy()
    emph[:, 1:] -= ALPHA * frames[:, :-1]
    emph[:, 0] -= ALPHA * prior
    spec = np.fft.rfft(emph * window, N_FFT)
    power = spec.real**2 + spec.imag**2
    return np.log(np.maximum(power @ weights, FLOOR))


def per_frame_log_mel(samples: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The same definition computed frame by frame with a Python pre-emphasis loop."""
    x = np.asarray(samples, dtype=np.float64)
    if weights is None:
        weights = reference_filterbank()
    window = hamming()
    count = len(x) // HOP + 1
    out = np.empty((count, weights.shape[1]))
    prior = 0.0
    for k in range(count):
        frame = x[k * HOP : min(len(x), k * HOP + WIN)]
        if len(frame) < WIN:
            frame = np.resize(frame, WIN) if len(frame) else np.zeros(WIN)
        emph = np.empty(WIN)
        emph[0] = frame[0] - ALPHA * prior
        for i in range(1, WIN):
            emph[i] = frame[i] - ALPHA * frame[i - 1]
        prior = frame[-1]
        spec = np.fft.rfft(emph * window, N_FFT)
        power = spec.real**2 + spec.imag**2
        out[k] = np.log(np.maximum(power @ weights, FLOOR))
    return out


def reference_normalize(logspec: np.ndarray) -> np.ndarray:
    """Per-bin normalisation exactly as specified (float32 arithmetic)."""
    f = np.asarray(logspec).astype(np.float32)
    return (f - f.mean(axis=0)) / (f.std(axis=0) + np.float32(1.1920929e-07))
