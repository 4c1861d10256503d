"""The full published feature pipeline: samples at any rate -> the network input."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.decode import resample
from cmp_edge.audio.signal import INT16_SCALE, SAMPLE_RATE
from cmp_edge.audio.vad import remove_silence
from cmp_edge.errors import AudioError
from cmp_edge.features.logmel import log_mel
from cmp_edge.features.normalize import normalize, repeat_pad

__all__ = ["cmp_features"]


def cmp_features(
    samples: npt.ArrayLike,
    sample_rate: int,
    vad: bool = True,
    pad_to: int | None = 1000,
) -> np.ndarray:
    """The full published feature pipeline: what the CMP networks take as input.

    Steps: resample to 16 kHz (libsoxr) when needed, voice activity detection
    (spec section 2; silence removed), CMP log-mel, per-bin normalisation, and
    repeat-padding to ``pad_to`` frames. The network input is ``out.T[None]``
    (1, 64, T).

    Args:
        samples: (n,) mono signal, float in [-1, 1) or int16.
        sample_rate: rate of ``samples`` in Hz.
        vad: remove silence with the CMP-exact WebRTC VAD first.
        pad_to: minimum frame count (1000 in the published pipeline); None disables.

    Returns:
        (T, 64) float32 with T >= pad_to.

    Raises:
        NoSpeechError: ``vad`` is on and no voiced speech was found (silence or
            audio shorter than about 60 ms); pass ``vad=False`` to keep all audio.
        AudioError: empty or non-finite samples, unsupported sample rate.
    """
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise AudioError(f"samples must be a 1-D mono array, got shape {arr.shape}")
    if arr.size == 0:
        raise AudioError("samples are empty (0 samples); pass at least some speech")
    if arr.dtype == np.int16:
        x = arr.astype(np.float32) / np.float32(INT16_SCALE)
    elif arr.dtype.kind == "f":
        x = np.asarray(arr, dtype=np.float32)
        if not np.isfinite(x).all():
            raise AudioError("samples contain NaN or Inf values; clean the audio first")
    else:
        raise AudioError(f"samples must be int16 or float in [-1, 1), not dtype {arr.dtype}")
    if int(sample_rate) != SAMPLE_RATE:
        x = resample(x, int(sample_rate), SAMPLE_RATE)
    if vad:
        x = remove_silence(x)
    spec = log_mel(x, SAMPLE_RATE)
    return repeat_pad(normalize(spec), pad_to)
