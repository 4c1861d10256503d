"""Streaming reconstruction: feed audio chunk by chunk, read provisional and final faces.

Per chunk, :meth:`Stream.accept_waveform` does a constant amount of work for a
given chunk length, whatever the stream's length:

- voice activity detection runs incrementally with the published call
  sequence (one WebRTC VAD object, ring of two 20 ms frames, ``is_speech``
  called on every ring frame at every step; spec section 2). Its output is
  append-only: a frame, once part of a segment, stays voiced;
- the voiced samples go through :class:`~cmp_edge.features.logmel.OnlineLogMel`; new
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
import warnings
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.numbers import seconds
from cmp_edge.audio.decode import max_duration, resample, too_long
from cmp_edge.audio.signal import SAMPLE_RATE, as_mono_float32
from cmp_edge.audio.vad import StreamingVad
from cmp_edge.errors import AudioError, CmpEdgeError, NoSpeechError
from cmp_edge.features.logmel import LogMelOptions, OnlineLogMel
from cmp_edge.features.normalize import RunningFrames, repeat_pad
from cmp_edge.runtime.face import Face

__all__ = ["Pipeline", "Stream"]


class Pipeline(Protocol):
    """What a :class:`Stream` needs from the shared model (a ``Reconstructor``)."""

    vad: bool
    min_voiced_s: float

    @property
    def pad_to(self) -> int: ...  # noqa: D102

    def run_model(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...  # noqa: D102

    def features_from_frames(self, logmel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...  # noqa: D102

    def check_voiced(self, num_samples: int, what: str) -> None: ...  # noqa: D102

    def make_face(  # noqa: D102
        self,
        whitened: npt.NDArray[np.float32],
        timings: dict[str, float],
        duration_s: float,
        voiced_s: float,
        source: str | None,
    ) -> Face: ...

    def predict(self, samples: Any, sample_rate: int, *, source: str | None = None) -> Face: ...  # noqa: D102


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
        reconstructor: Pipeline,
        *,
        min_voiced_s: float = 1.0,
        refresh_s: float = 1.0,
        window_s: float = 60.0,
    ) -> None:
        min_voiced_s = seconds(min_voiced_s, "min_voiced_s", CmpEdgeError)
        refresh_s = seconds(refresh_s, "refresh_s", CmpEdgeError)
        window_s = seconds(window_s, "window_s", CmpEdgeError)
        self._rec = reconstructor
        self._max_samples_s = max_duration(getattr(reconstructor, "max_duration_s", None))
        self._lock = threading.Lock()
        use_vad = getattr(reconstructor, "vad", True)
        self._vad: StreamingVad | None = StreamingVad() if use_vad else None
        self._mel = OnlineLogMel(LogMelOptions.preset("cmp"))
        self._frames = RunningFrames()
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
    def accept_waveform(self, sample_rate: int, samples: Any) -> None:
        """Add a chunk of audio at a constant rate (kaldi-native-fbank's argument order).

        Args:
            sample_rate: in Hz, the same for every chunk of the stream.
            samples: (n,) or (n, channels) float in [-1, 1), or int16; any n,
                including 0.

        The pre-0.2 order ``accept_waveform(samples, sample_rate)`` still works
        with a DeprecationWarning; keyword calls work in any order.

        Raises:
            AudioError: invalid samples, or a sample rate that changes mid-stream.
            RuntimeError: called after :meth:`input_finished`.
        """
        t0 = time.perf_counter()
        if not isinstance(sample_rate, (int, np.integer)) and isinstance(
            samples, (int, np.integer)
        ):
            warnings.warn(
                "Stream.accept_waveform(samples, sample_rate) is deprecated; "
                "call accept_waveform(sample_rate, samples)",
                DeprecationWarning,
                stacklevel=2,
            )
            sample_rate, samples = samples, sample_rate
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
            if (self._num_samples + x.shape[0]) / sample_rate > self._max_samples_s:
                seconds = (self._num_samples + x.shape[0]) / sample_rate
                raise too_long("stream", seconds, self._max_samples_s)
            self._num_samples += x.shape[0]
            if sample_rate != SAMPLE_RATE:
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
        timings: dict[str, float] = {}
        padded = np.asarray(repeat_pad(feats, self._rec.pad_to), np.float32)
        timings["features"] = (time.perf_counter() - t0) * 1e3
        t1 = time.perf_counter()
        whitened = self._rec.run_model(padded)
        timings["model"] = (time.perf_counter() - t1) * 1e3
        face = self._rec.make_face(
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
            rec.check_voiced(self._voiced_samples, "stream")
            t0 = time.perf_counter()
            timings: dict[str, float] = {}
            feats = rec.features_from_frames(self._frames.view())
            timings["features"] = (time.perf_counter() - t0) * 1e3
            t1 = time.perf_counter()
            whitened = rec.run_model(feats)
            timings["model"] = (time.perf_counter() - t1) * 1e3
            face = rec.make_face(whitened, timings, self.duration_s, self.voiced_s, "stream")
            timings["total"] = (time.perf_counter() - t0) * 1e3
        self._result = face
        return face
