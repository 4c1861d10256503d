"""Audio input: read any file soundfile/libsndfile reads into mono float32, and resample.

``load`` returns samples in [-1, 1) (int formats are scaled by their full scale; float
files that exceed full scale are clipped with a warning), channels averaged to mono,
at the file's own rate. ``resample`` converts with a polyphase anti-aliasing filter
(``scipy.signal.resample_poly``). Every problem with a file raises
:class:`cmp_edge.errors.AudioError` with a one-line message naming the file, what is
wrong, and what to do.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.limits import get_limits
from cmp_edge._safe.numbers import seconds as finite_seconds
from cmp_edge.audio.signal import INT16_SCALE
from cmp_edge.errors import AudioError

__all__ = ["MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE", "load", "max_duration", "resample", "too_long"]

MIN_SAMPLE_RATE: Final = 4000
"""Lowest accepted sample rate in Hz (below it speech has no usable band)."""
MAX_SAMPLE_RATE: Final = 384000
"""Highest accepted sample rate in Hz."""

_BLOCK_FRAMES: Final = 1 << 20
_FULL_SCALE_MAX: Final = np.float32(32767.0 / 32768.0)


def _check_rate(rate: int, where: str) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{where}: sample rate {rate} Hz is outside the supported range "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; re-export the audio at 16000 Hz"
        )


def _riff_truncation(path: Path, size: int) -> str | None:
    """For a RIFF/WAVE file, describe a data chunk cut short by the file's end (else None)."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                # 0 and 0xFFFFFFFF mark streams written without a known length.
                if clen in (0, 0xFFFFFFFF):
                    return None
                present = size - (pos + 8)
                if clen > present:
                    return (
                        f"its header declares {clen} bytes of audio but only {present} are "
                        "present (the file is truncated)"
                    )
                return None
            pos += 8 + clen + (clen & 1)
    return None


def max_duration(seconds: float | None) -> float:
    """The duration cap in seconds: ``seconds``, or the limit in force when None.

    Raises:
        AudioError: ``seconds`` is not a finite number > 0.
    """
    if seconds is None:
        return float(get_limits().max_audio_seconds)
    return finite_seconds(seconds, "max_duration_s (--max-duration)", AudioError, positive=True)


def too_long(where: str, seconds: float, cap: float) -> AudioError:
    """The error for audio longer than the duration cap."""
    return AudioError(
        f"{where}: {seconds:.1f} s of audio is longer than the {cap:g} s limit; cut the "
        "recording, or raise the limit with --max-duration (max_duration_s=...)"
    )


def load(path: str | os.PathLike[str], max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32.

    Args:
        path: any format libsndfile reads (WAV 8/16/24/32-bit int or float, FLAC,
            OGG/Vorbis, ...).
        max_seconds: longest audio accepted, in seconds (None: the limit in force,
            :attr:`cmp_edge.limits.Limits.max_audio_seconds`, 600 s by default). A
            header declaring more is refused before anything is allocated.

    Returns:
        ``(samples, sample_rate)``: (n,) float32 in [-1, 1) (channels averaged) and the
        file's rate in Hz. Memory is one float32 per frame plus a fixed-size block.

    Raises:
        AudioError: missing, empty, unreadable, truncated or non-audio file; no samples;
            NaN or Inf samples; sample rate outside 4000..384000 Hz; longer than
            ``max_seconds``.
    """
    import soundfile as sf

    cap = max_duration(max_seconds)
    p = Path(path)
    name = str(p)
    if not p.exists():
        raise AudioError(f"{name}: file not found; check the path")
    if not p.is_file():
        raise AudioError(f"{name}: not a regular file; pass an audio file")
    size = p.stat().st_size
    if size == 0:
        raise AudioError(f"{name}: the file is empty (0 bytes); pass a file with audio")
    try:
        problem = _riff_truncation(p, size)
    except OSError as exc:
        raise AudioError(f"{name}: cannot be read ({exc.strerror}); check permissions") from exc
    if problem:
        raise AudioError(f"{name}: {problem}; re-export or re-download it")
    try:
        snd = sf.SoundFile(name)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        detail = str(exc).split(":")[-1].strip().rstrip(".") or "unknown format"
        raise AudioError(
            f"{name}: not a readable audio file ({detail}); pass WAV, FLAC, OGG or another "
            "format libsndfile reads"
        ) from exc
    with snd:
        rate = int(snd.samplerate)
        _check_rate(rate, name)
        channels = int(snd.channels)
        frames = int(snd.frames) if snd.frames and snd.frames > 0 else 0
        max_frames = int(cap * rate)
        if frames > max_frames:
            raise too_long(name, frames / rate, cap)
        # The header's frame count may lie: start small and grow with what is decoded.
        out = np.empty(min(frames, _BLOCK_FRAMES * 4), dtype=np.float32)
        filled = 0
        scale = np.float32(1.0 / channels)
        try:
            while True:
                block = snd.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                m = block.shape[0]
                if m == 0:
                    break
                if filled + m > max_frames:
                    raise too_long(name, (filled + m) / rate, cap)
                mono = block[:, 0] if channels == 1 else block.sum(axis=1) * scale
                if filled + m > out.shape[0]:
                    # Real audio beyond the first blocks: trust the declared length now
                    # (it is within the cap), else double.
                    need = filled + m
                    grown = np.empty(frames if frames >= need else 2 * need, np.float32)
                    grown[:filled] = out[:filled]
                    out = grown
                out[filled : filled + m] = mono
                filled += m
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(
                f"{name}: decoding failed after {filled} samples ({exc}); the file is damaged"
            ) from exc
    samples = out[:filled]
    if filled == 0:
        raise AudioError(f"{name}: the file holds no audio samples; pass a non-empty recording")
    # NaN and Inf propagate through the sum: no per-sample temporary is needed.
    if not math.isfinite(float(np.sum(samples, dtype=np.float64))):
        bad = int(np.argmin(np.isfinite(samples)))
        raise AudioError(
            f"{name}: contains NaN or Inf samples (first at sample {bad}); repair the file"
        )
    top, bottom = float(samples.max()), float(samples.min())
    peak = max(top, -bottom)
    if peak > 1.0 or top > _FULL_SCALE_MAX:
        if peak > 1.0:
            warnings.warn(
                f"{name}: float samples exceed full scale (peak {peak:.3g}); clipped to [-1, 1)",
                stacklevel=2,
            )
        np.clip(samples, -1.0, _FULL_SCALE_MAX, out=samples)
    return samples, rate


def resample(samples: npt.ArrayLike, sr: int, target: int = 16000) -> np.ndarray:
    """Resample a mono signal with a polyphase anti-aliasing filter.

    Args:
        samples: (n,) float signal (int16 is taken as int16 full scale).
        sr: its rate in Hz (4000..384000).
        target: the output rate in Hz.

    Returns:
        (ceil(n * target / sr),) float32; the input unchanged (as float32) when
        ``sr == target``.

    Raises:
        AudioError: a rate outside the supported range, or a 2-D input.
    """
    from scipy.signal import resample_poly

    x = np.asarray(samples)
    if x.ndim != 1:
        raise AudioError(f"resample needs a 1-D mono signal, got shape {x.shape}")
    if x.dtype == np.int16:
        x = x.astype(np.float32) / np.float32(INT16_SCALE)
    x = np.asarray(x, dtype=np.float32)
    sr, target = int(sr), int(target)
    _check_rate(sr, "resample input")
    _check_rate(target, "resample target")
    if sr == target:
        return x
    g = math.gcd(sr, target)
    y = resample_poly(x, target // g, sr // g)
    return np.asarray(y, dtype=np.float32)
