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

__all__ = [
    "INT16_SCALE",
    "MAX_CHANNELS",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SAMPLE_RATE",
    "as_frames",
    "as_mono_float32",
    "check_rate",
    "to_int16",
]

SAMPLE_RATE: Final = 16000
"""The rate in Hz of every stage after decoding (the published pipeline's rate)."""
INT16_SCALE: Final = 32768.0
"""Full scale of 16-bit PCM: float samples are int16 values divided by it."""
MIN_SAMPLE_RATE: Final = 4000
"""Lowest accepted sample rate in Hz (below it speech has no usable band)."""
MAX_SAMPLE_RATE: Final = 384000
"""Highest accepted sample rate in Hz."""
MAX_CHANNELS: Final = 64
"""Most channels an array or file may have; the channel axis of a 2-D array is the
one of at most this size while the other axis is longer."""


def check_rate(rate: int, where: str) -> None:
    """Raise :class:`AudioError` unless ``rate`` is within 4000..384000 Hz."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{where}: sample rate {rate} Hz is outside the supported range "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; re-export the audio at 16000 Hz"
        )


def to_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """float in [-1, 1) -> int16 PCM (rounded, clipped); int16 input is returned as is."""
    x = np.asarray(samples)
    if x.dtype == np.int16:
        return x
    scaled = np.rint(np.asarray(x, dtype=np.float32) * np.float32(INT16_SCALE))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def as_frames(
    samples: Any, sample_rate: int, what: str = "samples", *, channels_last: bool = False
) -> npt.NDArray[np.float32]:
    """Check audio and return it as contiguous (n, channels) float32 in [-1, 1).

    Accepted shapes: (n,) mono; (n, channels) as soundfile returns; (channels, n)
    as torchaudio returns. For a 2-D array the channel axis is the one of size 1,
    else the shorter one when it has at most :data:`MAX_CHANNELS` entries.

    Args:
        samples: float samples in [-1, 1), or int16 (divided by 32768).
        sample_rate: in Hz, a positive integer.
        what: the name used in messages (e.g. the file name).
        channels_last: a 2-D array is always (n, channels) (for short stream chunks,
            where the shape cannot tell).

    Returns:
        (n, channels) float32, C-contiguous.

    Raises:
        AudioError: empty, non-finite, wrong dtype, a non-positive sample rate, or a
            shape whose channel axis cannot be told (the message names the shape).
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
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim == 2:
        a, b = x.shape
        if channels_last or b == 1 or (a != 1 and b < a and b <= MAX_CHANNELS):
            pass
        elif a == 1 or (a < b and a <= MAX_CHANNELS):
            x = x.T
        else:
            raise AudioError(
                f"{what}: cannot tell the channel axis of samples with shape {x.shape}; "
                f"pass (n,) mono, (n, channels) or (channels, n) with at most "
                f"{MAX_CHANNELS} channels and more samples than channels"
            )
    else:
        raise AudioError(
            f"{what}: samples have shape {x.shape}; pass a 1-D (n,) array, (n, channels) "
            "or (channels, n)"
        )
    if x.size == 0:
        raise AudioError(f"{what}: the audio is empty; pass a recording with speech")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{what}: the audio holds NaN or infinite values; check the recording")
    return x


def as_mono_float32(
    samples: Any, sample_rate: int, what: str = "samples"
) -> npt.NDArray[np.float32]:
    """Check and convert audio to a contiguous float32 mono array in [-1, 1).

    Args:
        samples: (n,), (n, channels) or (channels, n) float, or int16 (divided by
            32768); see :func:`as_frames`. Channels are averaged (the published
            downmix; :mod:`cmp_edge.audio.channels` chooses a channel instead).
        sample_rate: in Hz, a positive integer.
        what: the name used in messages (e.g. the file name).

    Returns:
        (n,) float32, C-contiguous.

    Raises:
        AudioError: as :func:`as_frames`.
    """
    x = as_frames(samples, sample_rate, what)
    if x.shape[1] == 1:
        return np.ascontiguousarray(x[:, 0])
    return np.ascontiguousarray(x.mean(axis=1), dtype=np.float32)
