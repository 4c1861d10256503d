"""From an audio source (file, bytes or array) to voiced log-mel frames, with the
channel policy, the input-quality report, optional conditioning and the guards.

:func:`analyse` runs :class:`~cmp_edge.features.pipeline.FeaturePipeline` over
the source once. A second pass runs only when the first one shows it is needed:
``channel="auto"`` on channels that cancel when averaged (the loudest channel is
used instead, with a warning), ``channel="best"`` on several channels, or
conditioning asked for (``condition``), whose DC offset and gain come from the
first pass. Files are decoded again for the second pass rather than kept in
memory.

Guards (with or without the VAD): input whose peak is below
:data:`SILENT_PEAK_DBFS` (digital silence, a residue of a few LSB) and voiced
audio whose RMS is below :data:`SILENT_VOICED_DBFS` raise
:class:`~cmp_edge.errors.NoSpeechError`: no mesh is made from nothing.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.channels import parse_channel
from cmp_edge.audio.quality import InputQuality, dbfs
from cmp_edge.audio.reader import BLOCK_FRAMES, max_duration, open_audio, too_long
from cmp_edge.audio.signal import SAMPLE_RATE
from cmp_edge.errors import AudioError, NoSpeechError
from cmp_edge.features.pipeline import FeaturePipeline, FrontEndResult

__all__ = [
    "CONDITIONS",
    "LEVEL_TARGET_DBFS",
    "SILENT_PEAK_DBFS",
    "FrontEnd",
    "analyse",
    "array_source",
    "bytes_source",
    "check_audible",
    "file_source",
    "parse_condition",
]

CONDITIONS: Final = ("dc", "level")
"""Conditioning steps: "dc" subtracts the mean; "level" scales the peak to
:data:`LEVEL_TARGET_DBFS` (after DC removal when both are on). Both act before the VAD."""
LEVEL_TARGET_DBFS: Final = -6.0
"""Peak level that "level" conditioning brings a recording to."""
SILENT_PEAK_DBFS: Final = -60.0
"""Input peaks below this (about 32 LSB of 16-bit audio) hold no usable speech."""
SILENT_VOICED_DBFS: Final = -80.0
"""Voiced audio whose RMS is below this is taken as silence (no mesh is made)."""

Blocks = Iterator[npt.NDArray[np.float32]]
Source = Callable[[], AbstractContextManager[tuple[int, int, Blocks]]]
"""Opens the input anew: a context manager yielding (sample_rate, channels, blocks)."""


@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """Front-end options of a :class:`~cmp_edge.runtime.reconstructor.Reconstructor`.

    Attributes:
        vad: run the voice activity detector (False: all audio is used).
        channel: "auto", "mix", "best" or a channel index (:mod:`cmp_edge.audio.channels`).
        condition: conditioning steps from :data:`CONDITIONS` (empty: none, the default).
        max_seconds: longest input accepted (None: the limit in force).
    """

    vad: bool = True
    channel: str | int = "auto"
    condition: tuple[str, ...] = ()
    max_seconds: float | None = None


def parse_condition(value: str | Sequence[str] | None | bool) -> tuple[str, ...]:
    """Normalise a conditioning choice: None/False/"" -> (), True/"all" -> both steps,
    "dc,level" or a sequence -> the named steps.

    Raises:
        AudioError: an unknown step.
    """
    if value is None or value is False or value == "" or value == "none":
        return ()
    if value is True or value == "all":
        return CONDITIONS
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        step = str(item).strip().lower()
        if step == "all":
            out.extend(CONDITIONS)
        elif step in CONDITIONS:
            out.append(step)
        else:
            raise AudioError(
                f"conditioning {item!r} is unknown; use dc, level, all or none (e.g. dc,level)"
            )
    return tuple(s for s in CONDITIONS if s in out)


# ---------------------------------------------------------------------- sources
def array_source(frames: npt.NDArray[np.float32], sample_rate: int) -> Source:
    """A source over an in-memory (n, channels) float32 array."""

    @contextmanager
    def opener() -> Iterator[tuple[int, int, Blocks]]:
        blocks = (frames[i : i + BLOCK_FRAMES] for i in range(0, frames.shape[0], BLOCK_FRAMES))
        yield int(sample_rate), int(frames.shape[1]), blocks

    return opener


def file_source(path: str | os.PathLike[str], max_seconds: float | None = None) -> Source:
    """A source decoding a file incrementally (see :func:`cmp_edge.audio.reader.open_audio`;
    a header declaring more than ``max_seconds`` is refused before decoding)."""

    @contextmanager
    def opener() -> Iterator[tuple[int, int, Blocks]]:
        with open_audio(path, max_seconds=max_seconds) as src:
            yield src.sample_rate, src.channels, src.blocks()

    return opener


def bytes_source(data: bytes, name: str, max_seconds: float | None = None) -> Source:
    """A source decoding a whole file held in memory (e.g. an upload)."""

    @contextmanager
    def opener() -> Iterator[tuple[int, int, Blocks]]:
        with open_audio(data, name=name, max_seconds=max_seconds) as src:
            yield src.sample_rate, src.channels, src.blocks()

    return opener


# ---------------------------------------------------------------------- analysis
def _run(
    source: Source, options: FrontEnd, channel: str | int, dc: float, gain: float, what: str
) -> tuple[FrontEndResult, FeaturePipeline]:
    load_ms = 0.0
    with source() as (rate, channels, blocks):
        if isinstance(channel, int) and channels > 1 and channel >= channels:
            raise AudioError(
                f"{what}: channel {channel} does not exist: the audio has {channels} "
                f"channels (0..{channels - 1}); pick another with channel="
            )
        pipe = FeaturePipeline(rate, channels, channel=channel, vad=options.vad, dc=dc, gain=gain)
        cap = max_duration(options.max_seconds)
        frames = 0
        while True:
            t0 = time.perf_counter()
            block = next(blocks, None)
            load_ms += (time.perf_counter() - t0) * 1e3
            if block is None:
                break
            frames += block.shape[0]
            if frames > cap * rate:
                raise too_long(what, frames / rate, cap)
            pipe.accept(block)
    result = pipe.finish()
    result.timings["load"] = load_ms
    return result, pipe


def analyse(source: Source, options: FrontEnd, what: str) -> FrontEndResult:
    """Run the front end over a source, applying the channel policy and conditioning.

    Args:
        source: from :func:`array_source`, :func:`file_source` or :func:`bytes_source`.
        options: :class:`FrontEnd`.
        what: the input's name for messages.

    Returns:
        The :class:`FrontEndResult` of the pass whose frames feed the model; its
        ``quality`` describes the input of that pass (channel used, conditioning).

    Raises:
        AudioError: unreadable input, no samples, or a channel index out of range.
        NoSpeechError: silence (see module docstring) or nothing voiced.
    """
    choice = parse_channel(options.channel)
    first = "mix" if choice in ("auto", "best") else choice
    result, pipe = _run(source, options, first, 0.0, 1.0, what)
    if result.num_samples == 0:
        raise AudioError(f"{what}: the input holds no audio samples; pass a non-empty recording")
    stats = result.channels
    channel = stats.resolve(choice) if stats.channels > 1 else first
    if choice == "auto" and channel != "mix":
        warnings.warn(
            f"{what}: the channels cancel when averaged (mix {stats.cancellation_db:.0f} dB "
            f"below the channels, correlation {stats.correlation or 0.0:+.2f}); using channel "
            f"{channel} alone (channel= chooses)",
            stacklevel=3,
        )
    dc, gain = _conditioning(result, pipe, options, channel)
    if channel != first or dc != 0.0 or gain != 1.0:
        spent = result.timings
        result, _ = _run(source, options, channel, dc, gain, what)
        result.timings = {k: v + spent.get(k, 0.0) for k, v in result.timings.items()}
        if dc or gain != 1.0:
            result.quality.conditioning = {"dc_removed": dc, "gain_db": 20 * math.log10(gain)}
    result.quality.mix_cancellation_db = stats.cancellation_db
    _guard(result, what, stats.cancelled and channel == "mix")
    return result


def _conditioning(
    result: FrontEndResult, pipe: FeaturePipeline, options: FrontEnd, channel: str | int
) -> tuple[float, float]:
    if not options.condition:
        return 0.0, 1.0
    stats = result.channels
    if channel == "mix" or stats.channels == 1:
        meter = pipe.quality
        mean, top, bottom = meter.dc, meter.top, meter.bottom
    else:
        k = int(channel)
        mean = float(stats.sums[k] / max(stats.count, 1))
        top, bottom = float(stats.top[k]), float(stats.bottom[k])
    dc = mean if "dc" in options.condition and abs(mean) > 1e-5 else 0.0
    peak = max(top - dc, dc - bottom)
    gain = 1.0
    if "level" in options.condition and dbfs(peak) >= SILENT_PEAK_DBFS:
        wanted = 10.0 ** (LEVEL_TARGET_DBFS / 20.0) / peak
        gain = wanted if abs(20 * math.log10(wanted)) > 0.1 else 1.0
    return float(np.float32(dc)), float(np.float32(gain))


def check_audible(peak: float, what: str, *, cancelled: bool = False) -> None:
    """Refuse input whose peak (fraction of full scale) is below :data:`SILENT_PEAK_DBFS`.

    Raises:
        NoSpeechError: digital silence or a residue of a few LSB, whether or not
            the VAD is used.
    """
    if dbfs(peak) < SILENT_PEAK_DBFS:
        hint = (
            "the channels cancel when averaged; choose one with channel=0"
            if cancelled
            else "record speech (a few seconds of one voice); vad=False does not help here"
        )
        raise NoSpeechError(
            f"{what}: no voiced speech found: the audio holds no audible signal (peak "
            f"{dbfs(peak):.1f} dBFS: digital silence or a residue of a few LSB); {hint}"
        )


def _guard(result: FrontEndResult, what: str, cancelled: bool) -> None:
    q: InputQuality = result.quality
    check_audible(10.0 ** (q.peak_dbfs / 20.0), what, cancelled=cancelled)
    if result.voiced_samples and dbfs(result.voiced_rms) < SILENT_VOICED_DBFS:
        raise NoSpeechError(
            f"{what}: no voiced speech found: the audio kept is silent (RMS "
            f"{dbfs(result.voiced_rms):.1f} dBFS); record speech (a few seconds of one voice)"
        )


def duration_16k(result: FrontEndResult) -> float:
    """Seconds of input (at 16 kHz) the result covers."""
    return result.samples16k / SAMPLE_RATE
