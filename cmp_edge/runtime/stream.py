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
frames exactly as :meth:`Reconstructor.predict` does, so it equals ``predict``
on the whole (mono) audio: at other sample rates chunks go through the
incremental libsoxr resampler, whose output does not depend on the chunking,
and no samples are kept.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.numbers import seconds
from cmp_edge.audio.channels import ChannelStats, downmix, select
from cmp_edge.audio.quality import InputQuality, QualityMeter
from cmp_edge.audio.reader import max_duration, too_long
from cmp_edge.audio.resampler import Resampler
from cmp_edge.audio.signal import SAMPLE_RATE, as_frames
from cmp_edge.audio.vad import StreamingVad
from cmp_edge.errors import AudioError, CmpEdgeError, NoSpeechError
from cmp_edge.features.logmel import LogMelOptions, OnlineLogMel
from cmp_edge.features.normalize import RunningFrames, repeat_pad
from cmp_edge.runtime.face import Face
from cmp_edge.runtime.frontend import SILENT_PEAK_DBFS, check_audible
from cmp_edge.runtime.quality import warn_quality

__all__ = ["Pipeline", "Stream"]

_AUDIBLE_PEAK = 10.0 ** (SILENT_PEAK_DBFS / 20.0)


class Pipeline(Protocol):
    """What a :class:`Stream` needs from the shared model (a ``Reconstructor``)."""

    vad: bool
    min_speech_s: float

    @property
    def pad_to(self) -> int: ...  # noqa: D102

    def run_model(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...  # noqa: D102

    def features_from_frames(self, logmel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...  # noqa: D102

    def check_voiced(self, num_samples: int, what: str, *, cancelled: bool = False) -> None: ...  # noqa: D102

    def make_face(  # noqa: D102
        self,
        whitened: npt.NDArray[np.float32],
        timings: dict[str, float],
        duration_s: float,
        voiced_s: float,
        source: str | None,
        quality: InputQuality | None = None,
    ) -> Face: ...

    def predict(self, samples: Any, sample_rate: int, *, source: str | None = None) -> Face: ...  # noqa: D102


class Stream:
    """One utterance fed incrementally. Create with :meth:`Reconstructor.create_stream`.

    Args:
        reconstructor: the shared model.
        min_speech_s: voiced seconds before :meth:`current` gives a first estimate
            (None: the reconstructor's ``min_speech_s``, the minimum of the final result).
        refresh_s: new voiced seconds between two provisional estimates.
        window_s: provisional estimates use at most the last ``window_s`` voiced
            seconds (bounds their cost); :meth:`result` always uses everything.

    Methods are safe to call from one producer thread and one reader thread.
    """

    def __init__(
        self,
        reconstructor: Pipeline,
        *,
        min_speech_s: float | None = None,
        refresh_s: float = 1.0,
        window_s: float = 60.0,
        min_voiced_s: float | None = None,
    ) -> None:
        if min_voiced_s is not None:
            warnings.warn(
                "create_stream(min_voiced_s=...) is deprecated; use min_speech_s",
                DeprecationWarning,
                stacklevel=2,
            )
            min_speech_s = min_voiced_s
        if min_speech_s is None:
            min_speech_s = reconstructor.min_speech_s
        min_speech_s = seconds(min_speech_s, "min_speech_s", CmpEdgeError)
        refresh_s = seconds(refresh_s, "refresh_s", CmpEdgeError)
        window_s = seconds(window_s, "window_s", CmpEdgeError)
        self._rec = reconstructor
        self._max_samples_s = max_duration(getattr(reconstructor, "max_duration_s", None))
        self._lock = threading.Lock()
        use_vad = getattr(reconstructor, "vad", True)
        frontend = getattr(reconstructor, "frontend", None)
        # a stream cannot look ahead: "auto"/"best" use the mean; an index selects
        self._channel = getattr(frontend, "channel", "mix")
        self._vad: StreamingVad | None = StreamingVad() if use_vad else None
        self._mel = OnlineLogMel(LogMelOptions.preset("cmp"))
        self._frames = RunningFrames()
        self._hop = 160
        self.min_frames = max(1, int(round(min_speech_s * 100)))
        self.refresh_frames = max(1, int(round(refresh_s * 100)))
        self.window_frames = max(1, int(round(window_s * 100)))
        self._sample_rate: int | None = None
        self._resampler: Resampler | None = None
        self._num_samples = 0  # at the input rate
        self._peak = 0.0  # largest input magnitude (the silence guard)
        self._meter: QualityMeter | None = None  # the input-quality report
        self._stats: ChannelStats | None = None  # channel energies (cancellation hint)
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
                including 0. Channels are averaged, unless the reconstructor's
                ``channel`` is an index (a stream cannot look ahead for "auto").

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
        frames = as_frames(samples, sample_rate, "stream", channels_last=True)
        mix = downmix(frames)
        x = select(frames, self._channel) if isinstance(self._channel, int) else mix
        with self._lock:
            if self._sample_rate is None:
                self._sample_rate = int(sample_rate)
                self._meter = QualityMeter(self._sample_rate, frames.shape[1])
                if frames.shape[1] > 1:
                    self._stats = ChannelStats(frames.shape[1])
                if self._sample_rate != SAMPLE_RATE:
                    self._resampler = Resampler(self._sample_rate, SAMPLE_RATE)
            elif self._sample_rate != sample_rate:
                raise AudioError(
                    f"stream: sample rate changed from {self._sample_rate} to {sample_rate} Hz; "
                    "create a new stream for audio at another rate"
                )
            if (self._num_samples + x.shape[0]) / sample_rate > self._max_samples_s:
                seconds = (self._num_samples + x.shape[0]) / sample_rate
                raise too_long("stream", seconds, self._max_samples_s)
            self._num_samples += x.shape[0]
            self._peak = max(self._peak, float(np.max(np.abs(x))))
            if self._meter is not None:
                self._meter.update(x)
            if self._stats is not None and frames.shape[1] == self._stats.channels:
                self._stats.update(frames, mix)
            if self._resampler is not None:
                x = self._resampler.accept(x)
            self._feed_16k(x)
            self.chunks += 1
        self.accept_ms_total += (time.perf_counter() - t0) * 1e3

    def _feed_16k(self, x: npt.NDArray[np.float32]) -> None:
        for block in self._vad.accept(x) if self._vad is not None else [x]:
            self._feed_voiced(block)

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
            if self._resampler is not None:
                self._feed_16k(self._resampler.finish())
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

    def quality(self) -> InputQuality | None:
        """The input-quality report of the audio so far (None before any audio).

        Channels are reported as averaged (or the chosen index); the cancellation
        check of ``channel="auto"`` needs the whole recording and is not made.
        """
        if self._meter is None:
            return None
        q = self._meter.report()
        q.channel_used = str(self._channel) if isinstance(self._channel, int) else "mix"
        if self._stats is not None:
            q.channel_correlation = self._stats.correlation
            q.mix_cancellation_db = self._stats.cancellation_db
        if self._vad is not None and self._num_samples:
            q.voiced_fraction = min(1.0, self.voiced_s / max(self.duration_s, 1e-9))
        return q

    # ------------------------------------------------------------------ output
    def current(self) -> Face | None:
        """The latest provisional face, or None before ``min_speech_s`` of speech.

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
            if count < self.min_frames or self._peak < _AUDIBLE_PEAK:
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
        if self._num_samples == 0:
            raise AudioError("stream: no audio was given; feed accept_waveform first")
        stats = self._stats
        cancelled = stats is not None and stats.cancelled and not isinstance(self._channel, int)
        check_audible(self._peak, "stream", cancelled=cancelled)
        rec.check_voiced(self._voiced_samples, "stream", cancelled=cancelled)
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        feats = rec.features_from_frames(self._frames.view())
        timings["features"] = (time.perf_counter() - t0) * 1e3
        t1 = time.perf_counter()
        whitened = rec.run_model(feats)
        timings["model"] = (time.perf_counter() - t1) * 1e3
        face = rec.make_face(
            whitened, timings, self.duration_s, self.voiced_s, "stream", quality=self.quality()
        )
        if face.quality is not None:
            warn_quality(face.quality, "stream")
        timings["total"] = (time.perf_counter() - t0) * 1e3
        self._result = face
        return face
