"""Per-utterance normalisation and repeat-padding of log-mel frames (spec section 1).

:func:`normalize` is the published per-bin normalisation; :class:`RunningFrames`
keeps running per-bin sums so that a stream can normalise provisionally without
revisiting old frames.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["NORM_EPS", "RunningFrames", "normalize", "repeat_pad"]

NORM_EPS: Final = np.float32(1.1920929e-07)
"""Added to each bin's standard deviation (float32 machine epsilon, as published)."""


def normalize(logspec: npt.ArrayLike) -> np.ndarray:
    """Per-bin normalisation over time (spec section 1, "per utterance").

    The spectrum is cast to float32, then each column has its mean subtracted and is
    divided by (its population standard deviation + 1.1920929e-07), in float32.

    Args:
        logspec: (T, n_mels) log spectrum, T >= 1.

    Returns:
        (T, n_mels) float32.
    """
    f = np.asarray(logspec).astype(np.float32)
    if f.ndim != 2 or f.shape[0] < 1:
        raise ValueError(f"logspec must be (T, n_mels) with T >= 1, got shape {f.shape}")
    out: np.ndarray = (f - f.mean(axis=0)) / (f.std(axis=0) + NORM_EPS)
    return out


def repeat_pad(features: npt.ArrayLike, pad_to: int | None = 1000) -> np.ndarray:
    """Repeat a short sequence end to end to ``pad_to`` frames (longer ones are unchanged).

    Args:
        features: (T, C) array, T >= 1.
        pad_to: target frame count; None or 0 disables padding.

    Returns:
        (max(T, pad_to), C) array of the input's dtype.
    """
    f = np.asarray(features)
    if f.ndim != 2 or f.shape[0] < 1:
        raise ValueError(f"features must be (T, C) with T >= 1, got shape {f.shape}")
    if pad_to is None or pad_to <= f.shape[0]:
        return f
    reps = -(-int(pad_to) // f.shape[0])
    return np.tile(f, (reps, 1))[: int(pad_to)]


class RunningFrames:
    """Append-only (T, 64) float32 buffer with capacity doubling and running per-bin sums."""

    def __init__(self, n_mels: int = 64) -> None:
        self._data = np.empty((1024, n_mels), np.float32)
        self.count = 0
        self.sum = np.zeros(n_mels, np.float64)
        self.sumsq = np.zeros(n_mels, np.float64)

    def append(self, rows: npt.NDArray[np.float32]) -> None:
        """Append (k, n_mels) float32 frames."""
        k = rows.shape[0]
        if k == 0:
            return
        if self.count + k > self._data.shape[0]:
            grown = np.empty(
                (max(2 * self._data.shape[0], self.count + k), self._data.shape[1]), np.float32
            )
            grown[: self.count] = self._data[: self.count]
            self._data = grown
        self._data[self.count : self.count + k] = rows
        self.count += k
        r = rows.astype(np.float64)
        self.sum += r.sum(axis=0)
        self.sumsq += np.einsum("ij,ij->j", r, r)

    def view(self, start: int = 0) -> npt.NDArray[np.float32]:
        """Frames [start, count) as (T, n_mels) float32 (a view, valid until the next append)."""
        return self._data[start : self.count]

    def running_normalised(self, start: int) -> npt.NDArray[np.float32]:
        """Frames from ``start`` normalised with the running mean/std of all frames."""
        n = max(self.count, 1)
        mean = self.sum / n
        std = np.sqrt(np.maximum(self.sumsq / n - mean * mean, 0.0))
        out = (self.view(start) - mean.astype(np.float32)) / (std.astype(np.float32) + NORM_EPS)
        return np.asarray(out, dtype=np.float32)
