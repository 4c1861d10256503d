"""Audio-quality report of a request: levels, clipping, DC offset, rate, and notes for people.

The levels are computed incrementally (:class:`LevelMeter`), so a streamed
utterance gets the same report as the same audio posted whole.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["LevelMeter"]

QUIET_PEAK_DBFS: Final = -30.0
"""Peaks below this level (dB re full scale) get a "quiet recording" note."""
CLIP_LEVEL: Final = 0.999
"""Samples at or above this magnitude count as clipped."""
CLIP_FRACTION: Final = 1e-3
"""More clipped samples than this fraction get a clipping note."""
DC_OFFSET: Final = 0.01
"""A mean beyond this (full scale = 1) gets a DC-offset note."""
STEADY_SPEECH_S: Final = 3.0
"""Less voiced speech than this gets a "short" note (estimates vary more)."""


def _dbfs(value: float) -> float:
    return round(20.0 * math.log10(value), 2) if value > 0 else -math.inf


class LevelMeter:
    """Running level statistics of mono float32 audio in [-1, 1]."""

    def __init__(self) -> None:
        self.count = 0
        self._sum = 0.0
        self._sum_sq = 0.0
        self._peak = 0.0
        self._clipped = 0

    def update(self, samples: npt.NDArray[np.float32]) -> None:
        """Add (n,) float32 samples."""
        if samples.size == 0:
            return
        x = samples.astype(np.float64, copy=False)
        self.count += x.shape[0]
        self._sum += float(x.sum())
        self._sum_sq += float(np.dot(x, x))
        absx = np.abs(x)
        self._peak = max(self._peak, float(absx.max()))
        self._clipped += int(np.count_nonzero(absx >= CLIP_LEVEL))

    def report(
        self,
        sample_rate: int,
        *,
        voiced_s: float | None = None,
        channels: int = 1,
        container: str = "pcm",
        codec: str = "",
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """The report: a JSON-friendly dict.

        Keys: ``duration_s``, ``sample_rate`` (Hz), ``channels``, ``format``
        (container/codec), ``voiced_s`` (seconds kept by the VAD), ``peak_dbfs``
        and ``rms_dbfs`` (dB re full scale; -inf for silence, sent as null),
        ``dc_offset`` (mean, full scale = 1), ``clipped_fraction`` and ``notes``
        (sentences for people, the decoder's first).
        """
        n = max(self.count, 1)
        mean = self._sum / n
        rms = math.sqrt(max(self._sum_sq / n, 0.0))
        out_notes = list(notes or [])
        peak_db, rms_db = _dbfs(self._peak), _dbfs(rms)
        clipped = self._clipped / n
        if sample_rate < 16000:
            out_notes.append(
                f"narrowband audio ({sample_rate} Hz, e.g. a phone line); the model was "
                "trained on 16 kHz speech, so expect a less reliable estimate"
            )
        if peak_db < QUIET_PEAK_DBFS:
            out_notes.append(
                f"quiet recording (peak {peak_db:.1f} dBFS); speak closer to the microphone "
                "or raise its gain: the voice activity detector may miss speech"
            )
        if clipped > CLIP_FRACTION:
            out_notes.append(
                f"clipping: {100 * clipped:.2f} % of samples at full scale; lower the gain"
            )
        if abs(mean) > DC_OFFSET:
            out_notes.append(f"DC offset of {mean:+.3f} full scale; check the microphone")
        if voiced_s is not None and voiced_s < STEADY_SPEECH_S:
            out_notes.append(
                f"only {voiced_s:.1f} s of speech; the estimate is steadier with 5 s or more"
            )
        return {
            "duration_s": round(self.count / sample_rate, 4),
            "sample_rate": int(sample_rate),
            "channels": int(channels),
            "format": f"{container}/{codec}" if codec else container,
            "voiced_s": None if voiced_s is None else round(float(voiced_s), 4),
            "peak_dbfs": peak_db if math.isfinite(peak_db) else None,
            "rms_dbfs": rms_db if math.isfinite(rms_db) else None,
            "dc_offset": round(mean, 6),
            "clipped_fraction": round(clipped, 6),
            "notes": out_notes,
        }
