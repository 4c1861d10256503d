"""Streaming reconstruction: feed audio chunk by chunk, read provisional and final faces.

Per chunk, :meth:`Stream.accept_waveform` does a constant amount of work for a
given chunk length, whatever the stream's length:

- voice activity detection runs incrementally with the published call
  sequence (one WebRTC VAD object, ring of two 20 ms frames, ``is_speech``
  called on every ring frame at every step; spec section 2). Its output is
  append-only: a frame, once part of a segment, stays voiced;
- the voiced samples go through :class:`~cmp_edge.features.OnlineLogMel`; new
  frames are appended to a growing buffer and added to running per-bin sums
  (for the provisional normalisation).

The encoder runs only in :meth:`Stream.current`, at most once per ``refresh_s``
seconds of new voiced audio, on the last ``window_s`` seconds of frames
normalised with the running statistics. :meth:`Stream.result` normalises all
frames exactly as :meth:`Reconstructor.predict` does, so for 16 kHz input it
equals ``predict`` on the whole audio (within 1e-4 in parameters). At other
sample rates chunks are resampled one by one for the provisional estimates and
``result`` re-runs ``predict`` on the kept original samples (exact).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import AudioError, NoSpeechError
from cmp_edge.face import Face
from cmp_edge.reconstructor import SAMPLE_RATE, as_mono_float32

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.reconstructor import Reconstructor

__all__ = ["Stream", "StreamingVad"]

VAD_FRAME = 320  # 20 ms at 16 kHz
VAD_RING = 2  # 50 ms padding // 20 ms frames (spec section 2)
VAD_MODE = 2


def _pcm16(frame: npt.NDArray[np.float32]) -> bytes:
    """16-bit PCM bytes of a float frame in [-1, 1), converted as cmp_edge.vad does."""
    from cmp_edge.audio import to_int16

    return bytes(to_int16(frame).astype("<i2", copy=False).tobytes())


class StreamingVad:
    """Incremental form of :func:`cmp_edge.vad.remove_silence` (same VAD calls, same cuts).

    ``accept(samples)`` returns the samples that became definitely voiced; after
    ``finish()``, the concatenation of everything returned equals
    ``remove_silence`` of the concatenated input.
    """

    def __init__(self) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(VAD_MODE)
        self._pending = np.zeros(0, np.float32)
        self._ring: deque[tuple[npt.NDArray[np.float32], bytes]] = deque(maxlen=VAD_RING)
        self._triggered = False
        self._finished = False
        self.frames_seen = 0

    @property
    def triggered(self) -> bool:
        """Whether a voiced segment is currently open."""
        return self._triggered

    def accept(self, samples: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Add 16 kHz float32 samples; return newly voiced sample blocks (possibly none)."""
        if self._finished:
            raise RuntimeError("StreamingVad.accept after finish()")
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        # A frame is used only when at least one sample follows it (published loop:
        # offset + n < len), so keep the last full frame until more audio arrives.
        n = (buf.shape[0] - 1) // VAD_FRAME if buf.shape[0] else 0
        out: list[npt.NDArray[np.float32]] = []
        is_speech = self._vad.is_speech
        ring = self._ring
        for j in range(n):
            frame = buf[j * VAD_FRAME : (j + 1) * VAD_FRAME]
            item = (frame, _pcm16(frame))
            if not self._triggered:
                ring.append(item)
                voiced = sum(1 for f in ring if is_speech(f[1], SAMPLE_RATE))
                if voiced > 0.9 * VAD_RING:
                    self._triggered = True
                    out.extend(f[0] for f in ring)
                    ring.clear()
            else:
                out.append(frame)
                ring.append(item)
                unvoiced = sum(1 for f in ring if not is_speech(f[1], SAMPLE_RATE))
                if unvoiced > 0.9 * VAD_RING:
                    self._triggered = False
                    ring.clear()
        self.frames_seen += n
        self._pending = np.array(buf[n * VAD_FRAME :], dtype=np.float32)
        return out

    def finish(self) -> None:
        """End of input: the remaining partial (or exactly final) frame is dropped."""
        self._finished = True
        self._pending = np.zeros(0, np.float32)


class _Frames:
    """Append-only (T, 64) float32 buffer with capacity doubling and running per-bin sums."""

    def __init__(self, n_mels: int = 64) -> None:
        self._data = np.empty((1024, n_mels), np.float32)
        self.count = 0
        self.sum = np.zeros(n_mels, np.float64)
        self.sumsq = np.zeros(n_mels, np.float64)

    def append(self, rows: npt.NDArray[np.float32]) -> None:
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
        return self._data[start : self.count]

    def running_normalised(self, start: int) -> npt.NDArray[np.float32]:
        """Frames from ``start`` normalised with the running mean/std of all frames."""
        n = max(self.count, 1)
        mean = self.sum / n
        std = np.sqrt(np.maximum(self.sumsq / n - mean * mean, 0.0))
        out = (self.view(start) - mean.astype(np.float32)) / (
            std.astype(np.float32) + np.float32(1.1920929e-07)
        )
        return np.asarray(out, dtype=np.float32)


class Stream:
    """One utterance fed incrementally. Create with :meth:`Reconstructor.create_stream`.

    Args:
        reconstructor: the shared model.
        min_voiced_s: voiced seconds before :meth:`current` gives a first estimate.
        refresh_s: new voiced seconds between two provisional estimates.
        window_s: provisional estimates use at most the last ``window_s`` voiced
            seconds (bounds their cost); :meth:`result` always uses everything.

    Methods are safe to call from one producer thread and one reader thread.
    """

    def __init__(
        self,
        reconstructor: Reconstructor,
        *,
        min_voiced_s: float = 1.0,
        refresh_s: float = 1.0,
        window_s: float = 60.0,
    ) -> None:
        from cmp_edge.features import LogMelOptions, OnlineLogMel

        self._rec = reconstructor
        self._lock = threading.Lock()
        use_vad = getattr(reconstructor, "vad", True)
        self._vad: StreamingVad | None = StreamingVad() if use_vad else None
        self._mel = OnlineLogMel(LogMelOptions.preset("cmp"))
        self._frames = _Frames()
        self._hop = 160
        self.min_frames = int(round(min_voiced_s * 100))
        self.refresh_frames = max(1, int(round(refresh_s * 100)))
        self.window_frames = max(1, int(round(window_s * 100)))
        self._sample_rate: int | None = None
        self._raw: list[npt.NDArray[np.float32]] = []  # kept only for rates != 16 kHz
        self._num_samples = 0  # at the input rate
        self._voiced_samples = 0  # at 16 kHz
        self._finished = False
        self._current: Face | None = None
        self._current_frames = 0
        self._result: Face | None = None
        self.accept_ms_total = 0.0
        self.chunks = 0

    # ------------------------------------------------------------------ input
    def accept_waveform(self, samples: Any, sample_rate: int) -> None:
        """Add a chunk of audio (float in [-1, 1) or int16, mono), at a constant rate.

        Raises:
            AudioError: invalid samples, or a sample rate that changes mid-stream.
            RuntimeError: called after :meth:`input_finished`.
        """
        t0 = time.perf_counter()
        if self._finished:
            raise RuntimeError("accept_waveform called after input_finished()")
        if np.asarray(samples).size == 0:
            return
        x = as_mono_float32(samples, sample_rate, "stream")
        with self._lock:
            if self._sample_rate is None:
                self._sample_rate = int(sample_rate)
            elif self._sample_rate != sample_rate:
                raise AudioError(
                    f"stream: sample rate changed from {self._sample_rate} to {sample_rate} Hz; "
                    "create a new stream for audio at another rate"
                )
            self._num_samples += x.shape[0]
            if sample_rate != SAMPLE_RATE:
                from cmp_edge.audio import resample

                self._raw.append(x)
                x = np.asarray(resample(x, int(sample_rate), SAMPLE_RATE), dtype=np.float32)
            for block in self._vad.accept(x) if self._vad is not None else [x]:
                self._feed_voiced(block)
            self.chunks += 1
        self.accept_ms_total += (time.perf_counter() - t0) * 1e3

    def _feed_voiced(self, block: npt.NDArray[np.float32]) -> None:
        self._voiced_samples += block.shape[0]
        self._mel.accept_waveform(block)
        self._drain()

    def _drain(self) -> None:
        mel = self._mel
        ready = mel.num_frames_ready
        start = self._frames.count
        if ready > start:
            self._frames.append(np.asarray(mel.get_frames(start, ready - start), np.float32))
            mel.pop(ready - start)

    def input_finished(self) -> None:
        """No more audio: flush the last frames. Further accept_waveform calls raise."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            if self._vad is not None:
                self._vad.finish()
            self._mel.input_finished()
            self._drain()

    # ------------------------------------------------------------------ state
    @property
    def duration_s(self) -> float:
        """Seconds of audio accepted so far."""
        return self._num_samples / (self._sample_rate or SAMPLE_RATE)

    @property
    def voiced_s(self) -> float:
        """Seconds of voiced audio found so far."""
        return self._voiced_samples / SAMPLE_RATE

    @property
    def num_frames(self) -> int:
        """Feature frames computed so far."""
        return self._frames.count

    @property
    def finished(self) -> bool:
        """Whether :meth:`input_finished` was called."""
        return self._finished

    # ------------------------------------------------------------------ output
    def current(self) -> Face | None:
        """The latest provisional face, or None before ``min_voiced_s`` of speech.

        Recomputed (encoder run) when ``refresh_s`` voiced seconds arrived since the
        last estimate; otherwise the cached estimate is returned. After
        :meth:`input_finished` this is :meth:`result` (when enough speech was seen).
        """
        if self._finished:
            if self._result is None and self._frames.count >= self.min_frames:
                try:
                    return self.result()
                except NoSpeechError:
                    return self._current
            return self._result or self._current
        with self._lock:
            count = self._frames.count
            if count < self.min_frames:
                return None
            if self._current is not None and count - self._current_frames < self.refresh_frames:
                return self._current
            t0 = time.perf_counter()
            start = max(0, count - self.window_frames)
            feats = self._frames.running_normalised(start)
        from cmp_edge.features import repeat_pad

        timings: dict[str, float] = {}
        padded = np.asarray(repeat_pad(feats, self._rec.pad_to), np.float32)
        timings["features"] = (time.perf_counter() - t0) * 1e3
        t1 = time.perf_counter()
        whitened = self._rec.run_model(padded)
        timings["model"] = (time.perf_counter() - t1) * 1e3
        face = self._rec._face(
            whitened, timings, self.duration_s, count * self._hop / SAMPLE_RATE, None
        )
        timings["total"] = (time.perf_counter() - t0) * 1e3
        with self._lock:
            if count >= self._current_frames:
                self._current, self._current_frames = face, count
        return face

    def result(self) -> Face:
        """The final face over the whole stream (call :meth:`input_finished` first).

        Equal to ``Reconstructor.predict`` on the concatenated audio.

        Raises:
            RuntimeError: input not finished.
            NoSpeechError: not enough voiced speech.
        """
        if not self._finished:
            raise RuntimeError("result() needs input_finished() first")
        if self._result is not None:
            return self._result
        rec = self._rec
        if self._sample_rate is not None and self._sample_rate != SAMPLE_RATE:
            face = rec.predict(np.concatenate(self._raw), self._sample_rate, source="stream")
        else:
            if self._num_samples == 0:
                raise AudioError("stream: no audio was given; feed accept_waveform first")
            rec._check_voiced(self._voiced_samples, "stream")
            t0 = time.perf_counter()
            timings: dict[str, float] = {}
            feats = rec.features_from_frames(self._frames.view())
            timings["features"] = (time.perf_counter() - t0) * 1e3
            t1 = time.perf_counter()
            whitened = rec.run_model(feats)
            timings["model"] = (time.perf_counter() - t1) * 1e3
            face = rec._face(whitened, timings, self.duration_s, self.voiced_s, "stream")
            timings["total"] = (time.perf_counter() - t0) * 1e3
        self._result = face
        return face
