"""CMP-exact voice activity detection (spec section 2): WebRTC VAD, aggressiveness 2.

The signal (16 kHz) is cut into 20 ms frames of 320 samples; frame j is used only
while ``320 j + 320 < n`` (strictly). A ring of the last 2 frames decides: when not
triggered, a frame is pushed and if more than 90 % of the ring (both frames) is
voiced a segment starts with the ring's frames; when triggered, the frame is
appended and pushed, and if more than 90 % of the ring is unvoiced the segment
closes. As in the published loop, ``is_speech`` is called on every frame in the
ring, in ring order, at every step, with one stateful VAD object per utterance:
only that call sequence reproduces the published cuts.
"""

from __future__ import annotations

import collections
from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import NoSpeechError

__all__ = ["AGGRESSIVENESS", "FRAME", "RATE", "remove_silence", "vad_segments"]

RATE: Final = 16000
"""Sample rate the VAD runs at (Hz)."""
FRAME: Final = 320
"""Samples per VAD frame (20 ms)."""
AGGRESSIVENESS: Final = 2
"""WebRTC VAD mode used by the published pipeline."""
_RING: Final = 2  # 50 ms padding // 20 ms frames


def _pcm16(samples: npt.ArrayLike) -> np.ndarray:
    from cmp_edge.audio import to_int16

    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D mono array, got shape {x.shape}")
    if x.dtype != np.int16 and x.dtype.kind != "f":
        raise ValueError(f"samples must be int16 or float in [-1, 1), not dtype {x.dtype}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError("samples contain NaN or Inf values")
    return np.ascontiguousarray(to_int16(x))


def vad_segments(samples16k: npt.ArrayLike) -> list[tuple[int, int]]:
    """Voiced segments of a 16 kHz signal as sample ranges [start, end).

    Args:
        samples16k: (n,) mono at 16 kHz, float in [-1, 1) or int16.

    Returns:
        Sorted, non-overlapping (start, end) sample indices (multiples of 320); empty
        when nothing is voiced.
    """
    import webrtcvad

    pcm = _pcm16(samples16k).astype("<i2", copy=False)
    n = pcm.shape[0]
    count = max(0, (n - 1) // FRAME)  # frames with 320 j + 320 < n
    data = pcm.tobytes()
    frames = [data[2 * FRAME * j : 2 * FRAME * (j + 1)] for j in range(count)]
    vad = webrtcvad.Vad(AGGRESSIVENESS)
    is_speech = vad.is_speech
    ring: collections.deque[int] = collections.deque(maxlen=_RING)
    segments: list[tuple[int, int]] = []
    triggered = False
    start = 0
    for j in range(count):
        ring.append(j)
        voiced = [is_speech(frames[i], RATE) for i in ring]
        if not triggered:
            if sum(voiced) > 0.9 * _RING:
                triggered = True
                start = ring[0]
                ring.clear()
        elif len(voiced) - sum(voiced) > 0.9 * _RING:
            triggered = False
            segments.append((start * FRAME, (j + 1) * FRAME))
            ring.clear()
    if triggered:
        segments.append((start * FRAME, count * FRAME))
    return segments


def remove_silence(samples16k: npt.ArrayLike) -> np.ndarray:
    """The voiced samples of a 16 kHz signal, concatenated (float32 in [-1, 1)).

    Args:
        samples16k: (n,) mono at 16 kHz, float in [-1, 1) or int16.

    Returns:
        (m,) float32, m a multiple of 320.

    Raises:
        NoSpeechError: nothing is voiced (silence, noise only, or shorter than 60 ms).
            Callers that want all audio anyway skip the VAD (``cmp_features(vad=False)``).
    """
    x = np.asarray(samples16k)
    segments = vad_segments(x)
    if not segments:
        seconds = x.shape[0] / RATE
        raise NoSpeechError(
            f"no speech found in {seconds:.2f} s of audio (the voice activity detector "
            "removed everything); use a recording with audible speech, or pass vad=False "
            "(--no-vad) to use all of the audio"
        )
    if x.dtype == np.int16:
        xf = x.astype(np.float32) / np.float32(32768.0)
    else:
        xf = np.asarray(x, dtype=np.float32)
    return np.concatenate([xf[a:b] for a, b in segments])
