"""Audio input: read a file into mono float32, and resample.

``load`` decodes any file :mod:`cmp_edge.audio.reader` opens (soundfile for WAV,
FLAC, Ogg, MP3, AIFF...; PyAV/FFmpeg for M4A/AAC, WebM, Opus, AMR, video files...)
into samples in [-1, 1) (int formats are scaled by their full scale; float files
that exceed full scale are clipped with a warning), channels averaged to mono,
at the file's own rate. ``resample`` converts with libsoxr
(:mod:`cmp_edge.audio.resampler`). Every problem with a file raises
:class:`cmp_edge.errors.AudioError` with a one-line message naming the file, what
is wrong, and what to do.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.channels import downmix, parse_channel, select
from cmp_edge.audio.headers import check_file
from cmp_edge.audio.reader import BLOCK_FRAMES, max_duration, open_audio, too_long
from cmp_edge.audio.resampler import resample_array
from cmp_edge.audio.signal import (
    INT16_SCALE,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    SAMPLE_RATE,
    check_rate,
)
from cmp_edge.errors import AudioError

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "check_file",
    "load",
    "max_duration",
    "resample",
    "too_long",
]


def load(
    path: str | os.PathLike[str],
    *,
    channel: str | int = "mix",
    max_seconds: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32.

    Args:
        path: any format soundfile or FFmpeg reads (WAV 8/16/24/32-bit int, float,
            mu-law; FLAC, Ogg Vorbis/Opus, MP3, M4A/AAC, WebM, AMR, video files...);
            any file name.
        channel: "mix" (the published downmix: the channels' mean) or a channel
            index; see :mod:`cmp_edge.audio.channels`.
        max_seconds: longest audio accepted (None: the limit in force,
            :attr:`cmp_edge.limits.Limits.max_audio_seconds`); a header declaring more
            is refused before anything is allocated.

    Returns:
        ``(samples, sample_rate)``: (n,) float32 in [-1, 1) and the file's rate in Hz.

    Raises:
        AudioError: missing, empty, unreadable, truncated or non-audio file; no samples;
            NaN or Inf samples; sample rate outside 4000..384000 Hz; no such channel;
            longer than ``max_seconds``.
    """
    choice = parse_channel(channel)
    if choice in ("auto", "best"):
        raise AudioError(
            f"load() takes channel='mix' or an index, not {choice!r}; Reconstructor chooses "
            "channels automatically"
        )
    with open_audio(path, max_seconds=max_seconds) as src:
        # the declared length (within the cap) is a hint: start with at most 4 blocks
        out = np.empty(min(src.frames or 0, 4 * BLOCK_FRAMES), np.float32)
        filled = 0
        for block in src.blocks():
            mono = downmix(block) if choice == "mix" else select(block, choice)
            m = mono.shape[0]
            if filled + m > out.shape[0]:
                declared = src.frames or 0
                size = declared if declared >= filled + m else 2 * (filled + m)
                grown = np.empty(max(size, 1 << 16), np.float32)
                grown[:filled] = out[:filled]
                out = grown
            out[filled : filled + m] = mono
            filled += m
        rate, overshoot, name = src.sample_rate, src.float_overshoot, src.name
    if filled == 0:
        raise AudioError(f"{name}: the file holds no audio samples; pass a non-empty recording")
    if overshoot > 1.0:
        warnings.warn(
            f"{name}: float samples exceed full scale (peak {overshoot:.3g}); clipped to [-1, 1)",
            stacklevel=2,
        )
    return out[:filled], rate


def resample(samples: npt.ArrayLike, sr: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono signal with libsoxr's high-quality band-limited filter.

    Args:
        samples: (n,) float signal (int16 is taken as int16 full scale).
        sr: its rate in Hz (4000..384000).
        target: the output rate in Hz.

    Returns:
        (ceil(n * target / sr),) float32; the input unchanged (as float32) when
        ``sr == target``. Equal to feeding the signal in any chunks to
        :class:`cmp_edge.audio.resampler.Resampler`.

    Raises:
        AudioError: a rate outside the supported range, or a 2-D input.
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise AudioError(f"resample needs a 1-D mono signal, got shape {x.shape}")
    if x.dtype == np.int16:
        x = x.astype(np.float32) / np.float32(INT16_SCALE)
    x = np.ascontiguousarray(x, dtype=np.float32)
    sr, target = int(sr), int(target)
    check_rate(sr, "resample input")
    check_rate(target, "resample target")
    return resample_array(x, sr, target)
