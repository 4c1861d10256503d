"""Incremental front end: blocks of audio at any rate in, CMP log-mel frames out.

:class:`FeaturePipeline` chains, block by block: channel choice
(:mod:`cmp_edge.audio.channels`), the input-quality meter
(:mod:`cmp_edge.audio.quality`), optional conditioning (DC removal and a gain),
libsoxr resampling to 16 kHz, the published VAD loop
(:class:`~cmp_edge.audio.vad.StreamingVad`) and the streaming log-mel
(:class:`~cmp_edge.features.logmel.OnlineLogMel`). Memory holds one input block
plus the log-mel frames of the voiced audio (256 bytes per 10 ms), never the
samples. Each stage is chunk-invariant, so the frames are bit-identical to the
batch path ``log_mel(remove_silence(resample(x)))`` for any blocking.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.channels import ChannelStats, downmix, select
from cmp_edge.audio.quality import InputQuality, QualityMeter
from cmp_edge.audio.resampler import Resampler
from cmp_edge.audio.signal import SAMPLE_RATE
from cmp_edge.audio.vad import StreamingVad
from cmp_edge.features.logmel import LogMelOptions, OnlineLogMel
from cmp_edge.features.normalize import RunningFrames

__all__ = ["FeaturePipeline", "FrontEndResult"]

_FULL_SCALE_MAX = np.float32(32767.0 / 32768.0)


@dataclasses.dataclass
class FrontEndResult:
    """What :meth:`FeaturePipeline.finish` returns.

    Attributes:
        frames: (T, 64) float32 raw log-mel frames of the voiced audio (T may be 0
            when nothing was voiced).
        num_samples: input frames accepted (at the input rate).
        samples16k: samples after resampling to 16 kHz.
        voiced_samples: 16 kHz samples kept by the VAD (all of them without VAD).
        voiced_rms: RMS of the kept samples (fraction of full scale, after conditioning).
        quality: the input-quality report of the input before conditioning.
        channels: per-channel energies and the mix's (for the channel policy).
        timings: milliseconds spent in ``resample``, ``vad`` and ``features`` (log-mel).
    """

    frames: npt.NDArray[np.float32]
    num_samples: int
    samples16k: int
    voiced_samples: int
    voiced_rms: float
    quality: InputQuality
    channels: ChannelStats
    timings: dict[str, float]


class FeaturePipeline:
    """Blocks of (k, channels) float32 at ``sample_rate`` -> log-mel frames of voiced audio.

    Args:
        sample_rate: input rate in Hz (4000..384000).
        channels: input channels.
        channel: "mix" (the channels' mean, the published downmix) or an index.
        vad: run the published VAD; False keeps all audio.
        dc: subtracted from every sample before the gain (0: none).
        gain: multiplies every sample after DC removal (1: none); the result is
            clipped to [-1, 1).
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int = 1,
        *,
        channel: str | int = "mix",
        vad: bool = True,
        dc: float = 0.0,
        gain: float = 1.0,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.channel = channel
        self._resampler = Resampler(self.sample_rate, SAMPLE_RATE)
        self._vad = StreamingVad() if vad else None
        self._mel = OnlineLogMel(LogMelOptions.preset("cmp"))
        self._frames = RunningFrames()
        self._quality = QualityMeter(self.sample_rate, self.channels)
        self._stats = ChannelStats(self.channels)
        self._dc = np.float32(dc)
        self._gain = np.float32(gain)
        self._condition = dc != 0.0 or gain != 1.0
        self.num_samples = 0
        self.samples16k = 0
        self.voiced_samples = 0
        self._voiced_sumsq = 0.0
        self.timings = {"resample": 0.0, "vad": 0.0, "features": 0.0}

    def accept(self, block: npt.NDArray[np.float32]) -> None:
        """Add a (k, channels) float32 block in [-1, 1)."""
        if block.shape[0] == 0:
            return
        self.num_samples += block.shape[0]
        if self.channels > 1:
            mix = downmix(block)
            self._stats.update(block, mix)
            mono = mix if self.channel == "mix" else select(block, self.channel)
        else:
            mono = np.ascontiguousarray(block[:, 0])
        self._quality.update(mono)
        if self._condition:
            mono = (mono - self._dc) * self._gain
            np.clip(mono, -1.0, _FULL_SCALE_MAX, out=mono)
        t0 = time.perf_counter()
        x16 = self._resampler.accept(mono)
        self.timings["resample"] += (time.perf_counter() - t0) * 1e3
        self._after_resample(x16)

    def _after_resample(self, x16: npt.NDArray[np.float32]) -> None:
        self.samples16k += x16.shape[0]
        t0 = time.perf_counter()
        blocks = self._vad.accept(x16) if self._vad is not None else [x16]
        t1 = time.perf_counter()
        self.timings["vad"] += (t1 - t0) * 1e3
        # one log-mel call per input block (the VAD returns one array per 20 ms frame);
        # OnlineLogMel does not depend on the chunking
        b = np.concatenate(blocks) if len(blocks) > 1 else (blocks[0] if blocks else x16[:0])
        if b.shape[0]:
            self.voiced_samples += b.shape[0]
            b64 = b.astype(np.float64)
            self._voiced_sumsq += float(np.einsum("i,i->", b64, b64))
            self._mel.accept_waveform(b)
            self._drain()
        self.timings["features"] += (time.perf_counter() - t1) * 1e3

    def _drain(self) -> None:
        mel = self._mel
        start = self._frames.count
        ready = mel.num_frames_ready
        if ready > start:
            self._frames.append(np.asarray(mel.get_frames(start, ready - start), np.float32))
            mel.pop(ready - start)

    def finish(self) -> FrontEndResult:
        """End of input: flush every stage and return the frames and measurements."""
        self._after_resample(self._resampler.finish())
        if self._vad is not None:
            self._vad.finish()
        if self.voiced_samples:
            self._mel.input_finished()
            self._drain()
        quality = self._quality.report()
        quality.channel_correlation = self._stats.correlation
        quality.channel_used = str(self.channel)
        quality.mix_cancellation_db = self._stats.cancellation_db
        if self._vad is not None and self.samples16k:
            quality.voiced_fraction = self.voiced_samples / self.samples16k
        rms = math.sqrt(self._voiced_sumsq / self.voiced_samples) if self.voiced_samples else 0.0
        return FrontEndResult(
            frames=self._frames.view(),
            num_samples=self.num_samples,
            samples16k=self.samples16k,
            voiced_samples=self.voiced_samples,
            voiced_rms=rms,
            quality=quality,
            channels=self._stats,
            timings=dict(self.timings),
        )

    @property
    def quality(self) -> QualityMeter:
        """The running quality meter (its DC and peaks guide conditioning)."""
        return self._quality
