"""CMP-exact voice activity detection (spec section 2): WebRTC VAD, aggressiveness 2.

The signal (16 kHz) is cut into 20 ms frames of 320 samples; frame j is used only
while ``320 j + 320 < n`` (strictly). A ring of the last 2 frames decides: when not
triggered, a frame is pushed and if more than 90 % of the ring (both frames) is
voiced a segment starts with the ring's frames; when triggered, the frame is
appended and pushed, and if more than 90 % of the ring is unvoiced the segment
closes. As in the published loop, ``is_speech`` is called on every frame in the
ring, in ring order, at every step, with one stateful VAD object per utterance:
only that call sequence reproduces the published cuts.

:class:`StreamingVad` is the one implementation of that loop; the whole-signal
functions :func:`vad_segments` and :func:`remove_silence` feed it everything at once.
"""

from __future__ import annotations

import collections
from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.signal import INT16_SCALE, SAMPLE_RATE, to_int16
from cmp_edge.audio.vad_native import native_loop
from cmp_edge.errors import NoSpeechError

__all__ = [
    "AGGRESSIVENESS",
    "FRAME",
    "RATE",
    "StreamingVad",
    "remove_silence",
    "vad_segments",
]

RATE: Final = SAMPLE_RATE
"""Sample rate the VAD runs at (Hz)."""
FRAME: Final = 320
"""Samples per VAD frame (20 ms)."""
AGGRESSIVENESS: Final = 2
"""WebRTC VAD mode used by the published pipeline."""
RING: Final = 2
"""Frames in the decision ring (50 ms padding // 20 ms frames, spec section 2)."""


class StreamingVad:
    """The published VAD loop, fed incrementally.

    :meth:`accept` returns the float32 samples that became definitely voiced;
    after :meth:`finish`, the concatenation of everything returned equals
    :func:`remove_silence` of the concatenated input, and :attr:`segments` equals
    :func:`vad_segments` of it (byte-identical decisions, same call sequence).

    Args:
        native: run the loop compiled (:mod:`cmp_edge.audio.vad_native`; same
            library calls in the same order) when it is available; False, or
            ``CMP_EDGE_VAD_NATIVE=0``, runs it in Python.
    """

    def __init__(self, *, native: bool = True) -> None:
        import webrtcvad

        vad = webrtcvad.Vad(AGGRESSIVENESS)
        self._vad = vad  # keeps the detector instance alive for the native loop
        self._is_speech = vad.is_speech
        # The same loop compiled (cmp_edge.audio.vad_native), on this same instance.
        self._loop = native_loop(vad) if native else None
        self._last = np.zeros(0, np.float32)  # last frame of the previous accept (native)
        self._pending = np.zeros(0, np.float32)
        self._ring: collections.deque[tuple[int, npt.NDArray[np.float32], bytes]] = (
            collections.deque(maxlen=RING)
        )
        self._triggered = False
        self._start = 0
        self._finished = False
        self.frames_seen = 0
        self.segments: list[tuple[int, int]] = []
        """Closed voiced segments as sample ranges [start, end) (multiples of 320);
        the open one is added by :meth:`finish`."""

    @property
    def triggered(self) -> bool:
        """Whether a voiced segment is currently open."""
        return self._triggered

    @property
    def native(self) -> bool:
        """Whether the compiled loop (:mod:`cmp_edge.audio.vad_native`) runs the frames."""
        return self._loop is not None

    def accept(self, samples: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Add 16 kHz float32 samples in [-1, 1); return newly voiced blocks (maybe none).

        Raises:
            RuntimeError: called after :meth:`finish`.
        """
        if self._finished:
            raise RuntimeError("StreamingVad.accept after finish()")
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        # A frame is used only when at least one sample follows it (published loop:
        # offset + n < len), so keep the last full frame until more audio arrives.
        n = (buf.shape[0] - 1) // FRAME if buf.shape[0] else 0
        if self._loop is not None:
            return self._accept_native(buf, n)
        out: list[npt.NDArray[np.float32]] = []
        if n:
            pcm = to_int16(buf[: n * FRAME]).astype("<i2", copy=False).tobytes()
        is_speech = self._is_speech
        ring = self._ring
        base = self.frames_seen
        for j in range(n):
            frame = buf[j * FRAME : (j + 1) * FRAME]
            ring.append((base + j, frame, pcm[2 * FRAME * j : 2 * FRAME * (j + 1)]))
            votes = [is_speech(f[2], RATE) for f in ring]
            if not self._triggered:
                if sum(votes) > 0.9 * RING:
                    self._triggered = True
                    self._start = ring[0][0]
                    out.extend(f[1] for f in ring)
                    ring.clear()
            else:
                out.append(frame)
                if len(votes) - sum(votes) > 0.9 * RING:
                    self._triggered = False
                    self.segments.append((self._start * FRAME, (base + j + 1) * FRAME))
                    ring.clear()
        self.frames_seen += n
        self._pending = np.array(buf[n * FRAME :], dtype=np.float32)
        return out

    def _accept_native(self, buf: npt.NDArray[np.float32], n: int) -> list[npt.NDArray[np.float32]]:
        """The loop over ``n`` frames of ``buf`` in ``cmp_edge._C.VadLoop``.

        The native loop reports voiced frames as global frame ranges; a range may
        start one frame back, at the previous call's last frame (still in the ring).
        """
        out: list[npt.NDArray[np.float32]] = []
        if n == 0:
            self._pending = np.array(buf, dtype=np.float32)
            return out
        loop = self._loop
        assert loop is not None
        buf = np.ascontiguousarray(buf, dtype=np.float32)
        base = self.frames_seen
        voiced, closed = loop.accept(buf, n)
        for a, b in voiced:
            if a < base:  # a == base - 1: the previous call's last frame
                out.append(self._last)
                a = base
            out.append(buf[(a - base) * FRAME : (b - base) * FRAME])
        self.segments.extend((s * FRAME, e * FRAME) for s, e in closed)
        self._triggered = bool(loop.triggered)
        self._start = int(loop.start)
        self.frames_seen += n
        self._last = np.array(buf[(n - 1) * FRAME : n * FRAME], dtype=np.float32)
        self._pending = np.array(buf[n * FRAME :], dtype=np.float32)
        return out

    def finish(self) -> None:
        """End of input: the remaining partial (or exactly final) frame is dropped."""
        if self._finished:
            return
        self._finished = True
        self._pending = np.zeros(0, np.float32)
        if self._triggered:
            self.segments.append((self._start * FRAME, self.frames_seen * FRAME))


def _as_float(samples16k: npt.ArrayLike) -> npt.NDArray[np.float32]:
    x = np.asarray(samples16k)
    if x.ndim != 1:
        raise ValueError(f"samples must be a 1-D mono array, got shape {x.shape}")
    if x.dtype == np.int16:
        return x.astype(np.float32) / np.float32(INT16_SCALE)
    if x.dtype.kind != "f":
        raise ValueError(f"samples must be int16 or float in [-1, 1), not dtype {x.dtype}")
    xf = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(xf).all():
        raise ValueError("samples contain NaN or Inf values")
    return xf


def vad_segments(samples16k: npt.ArrayLike) -> list[tuple[int, int]]:
    """Voiced segments of a 16 kHz signal as sample ranges [start, end).

    Args:
        samples16k: (n,) mono at 16 kHz, float in [-1, 1) or int16.

    Returns:
        Sorted, non-overlapping (start, end) sample indices (multiples of 320); empty
        when nothing is voiced.

    Raises:
        ValueError: not 1-D, not int16/float, or NaN/Inf samples.
    """
    vad = StreamingVad()
    vad.accept(_as_float(samples16k))
    vad.finish()
    return vad.segments


def remove_silence(samples16k: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The voiced samples of a 16 kHz signal, concatenated (float32 in [-1, 1)).

    Args:
        samples16k: (n,) mono at 16 kHz, float in [-1, 1) or int16.

    Returns:
        (m,) float32, m a multiple of 320.

    Raises:
        NoSpeechError: nothing is voiced (silence, noise only, or shorter than 60 ms).
            Callers that want all audio anyway skip the VAD (``cmp_features(vad=False)``).
    """
    xf = _as_float(samples16k)
    vad = StreamingVad()
    blocks = vad.accept(xf)
    vad.finish()
    if not blocks:
        seconds = xf.shape[0] / RATE
        raise NoSpeechError(
            f"no speech found in {seconds:.2f} s of audio (the voice activity detector "
            "removed everything); use a recording with audible speech, or pass vad=False "
            "to use all of the audio"
        )
    return np.concatenate(blocks)
