"""Sample arrays: the one place that checks them and converts between int16 and float.

Every stage takes mono float32 in [-1, 1) at :data:`SAMPLE_RATE`; int16 PCM is
divided by :data:`INT16_SCALE` on the way in and multiplied by it (rounded,
clipped) on the way to the WebRTC VAD.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import AudioError

__all__ = ["INT16_SCALE", "SAMPLE_RATE", "as_mono_float32", "to_int16"]

SAMPLE_RATE: Final = 16000
"""The rate in Hz of every stage after decoding (the published pipeline's rate)."""
INT16_SCALE: Final = 32768.0
"""Full scale of 16-bit PCM: float samples are int16 values divided by it."""


def to_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """float in [-1, 1) -> int16 PCM (rounded, clipped); int16 input is returned as is."""
    x = np.asarray(samples)
    if x.dtype == np.int16:
        return x
    scaled = np.rint(np.asarray(x, dtype=np.float32) * np.float32(INT16_SCALE))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def as_mono_float32(
    samples: Any, sample_rate: int, what: str = "samples"
) -> npt.NDArray[np.float32]:
    """Check and convert audio to a contiguous float32 mono array in [-1, 1).

    Args:
        samples: (n,) or (n, channels) float (channels are averaged), or int16
            (divided by 32768).
        sample_rate: in Hz, a positive integer.
        what: the name used in messages (e.g. the file name).

    Returns:
        (n,) float32, C-contiguous.

    Raises:
        AudioError: empty, non-finite, wrong rank or dtype, or a non-positive sample rate.
    """
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or sample_rate <= 0
    ):
        raise AudioError(
            f"{what}: sample rate {sample_rate!r} is invalid; pass a positive integer in Hz"
        )
    x = np.asarray(samples)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / np.float32(INT16_SCALE)
    elif not np.issubdtype(x.dtype, np.floating):
        raise AudioError(
            f"{what}: samples of type {x.dtype} are not audio; pass float or int16 samples"
        )
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise AudioError(
            f"{what}: samples have shape {x.shape}; pass a 1-D (n,) or (n, channels) array"
        )
    if x.size == 0:
        raise AudioError(f"{what}: the audio is empty; pass a recording with speech")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{what}: the audio holds NaN or infinite values; check the recording")
    return x
