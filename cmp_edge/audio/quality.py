"""Input-quality report: how a recording compares with the conditions the model was trained on.

:class:`QualityMeter` runs alongside decoding (constant memory, one pass) on the
mono signal that feeds the pipeline, at the input's own rate, before any
conditioning. :class:`InputQuality` holds the result:

- ``peak_dbfs`` / ``rms_dbfs``: level relative to digital full scale (1.0 = 0 dBFS;
  RMS on the square-wave convention, so a full-scale sine is -3 dBFS);
- ``dc_offset``: the signal's mean, as a fraction of full scale;
- ``clipped_fraction``: share of samples at the rails (magnitude >= 0.999);
- ``bandwidth_hz``: the highest frequency where the long-term spectrum (Hann
  windows of about 32 ms, smoothed over 200 Hz) lies within :data:`BANDWIDTH_DB`
  of its peak (above 50 Hz);
- ``channel_correlation``: Pearson correlation of the first two channels (None
  for mono); about -1 for channels in antiphase;
- ``voiced_fraction``: share of the audio the VAD kept (None without VAD).

The published models were trained on VoxCeleb (interviews from video sites:
16 kHz, wideband, levels set by the uploader's production chain). The limits in
:data:`LIMITS` mark recordings clearly outside those conditions; each one found
becomes a short phrase in :meth:`InputQuality.issues` and one warning line.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["BANDWIDTH_DB", "CLIP_LEVEL", "LIMITS", "InputQuality", "QualityMeter", "dbfs"]

CLIP_LEVEL: Final = 0.999
"""Samples at or above this magnitude count as clipped (within 0.01 dB of full scale)."""

LIMITS: Final[dict[str, float]] = {
    "min_peak_dbfs": -30.0,  # quieter: the WebRTC VAD starts to drop speech
    "max_dc_offset": 0.01,  # -40 dBFS of constant offset
    "max_clipped_fraction": 0.001,  # 0.1 % of samples at the rails
    "min_bandwidth_hz": 5500.0,  # telephone bands end at 3.4 kHz; the model's mel at 7.2 kHz
    "min_channel_correlation": -0.5,  # channels largely in antiphase
    "min_voiced_fraction": 0.05,  # almost no speech found
}
"""Boundaries of the training conditions used for warnings."""

BANDWIDTH_DB: Final = 50.0
"""Spectral range (dB below the long-term peak) that counts as content for the bandwidth."""
_FLOOR_DB: Final = -200.0


def dbfs(value: float) -> float:
    """20 log10(value), at least -200 (for 0)."""
    return 20.0 * math.log10(value) if value > 1e-10 else _FLOOR_DB


@dataclasses.dataclass
class InputQuality:
    """Measurements of one recording (see the module docstring for each field)."""

    sample_rate: int
    channels: int
    duration_s: float
    peak_dbfs: float
    rms_dbfs: float
    dc_offset: float
    clipped_fraction: float
    bandwidth_hz: float
    channel_correlation: float | None = None
    channel_used: str = "mix"
    mix_cancellation_db: float = 0.0
    voiced_fraction: float | None = None
    conditioning: dict[str, float] = dataclasses.field(default_factory=dict)

    def issues(self) -> list[str]:
        """Short phrases for each way the recording lies outside :data:`LIMITS` (maybe none)."""
        out: list[str] = []
        if self.bandwidth_hz < LIMITS["min_bandwidth_hz"]:
            out.append(
                f"narrowband audio (content only up to {self.bandwidth_hz / 1000:.1f} kHz, "
                f"{self.sample_rate} Hz input; e.g. a phone line)"
            )
        if self.peak_dbfs < LIMITS["min_peak_dbfs"]:
            out.append(f"very low level (peak {self.peak_dbfs:.1f} dBFS)")
        if abs(self.dc_offset) > LIMITS["max_dc_offset"]:
            out.append(f"DC offset of {self.dc_offset:+.3f} full scale")
        if self.clipped_fraction > LIMITS["max_clipped_fraction"]:
            out.append(f"clipping ({100 * self.clipped_fraction:.2f} % of samples at full scale)")
        corr = self.channel_correlation
        if (
            corr is not None
            and corr < LIMITS["min_channel_correlation"]
            and self.channel_used == "mix"
        ):
            out.append(f"channels in antiphase (correlation {corr:+.2f})")
        vf = self.voiced_fraction
        if vf is not None and vf < LIMITS["min_voiced_fraction"]:
            out.append(f"little speech ({100 * vf:.1f} % of the audio is voiced)")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (floats rounded to 4-6 significant places)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float):
                v = float(f"{v:.6g}")
            elif isinstance(v, dict):
                v = {k: float(f"{x:.6g}") for k, x in v.items()}
            out[f.name] = v
        out["issues"] = self.issues()
        return out


class QualityMeter:
    """Accumulates :class:`InputQuality` over mono blocks at one sample rate.

    Args:
        sample_rate: Hz.
        channels: channels of the original input (reported, not measured here).
    """

    def __init__(self, sample_rate: int, channels: int = 1) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.count = 0
        self.top = -math.inf
        self.bottom = math.inf
        self.sum = 0.0
        self.sumsq = 0.0
        self.clipped = 0
        n = 1 << max(7, min(14, round(math.log2(self.sample_rate * 0.032))))
        self._nfft = n
        self._window = np.hanning(n).astype(np.float32)
        self._power = np.zeros(n // 2 + 1, np.float64)
        self._frames = 0
        self._frame_index = 0
        self._rest = np.zeros(0, np.float32)

    def update(self, mono: npt.NDArray[np.float32]) -> None:
        """Add a (k,) float32 block."""
        k = mono.shape[0]
        if k == 0:
            return
        self.count += k
        self.top = max(self.top, float(mono.max()))
        self.bottom = min(self.bottom, float(mono.min()))
        x64 = mono.astype(np.float64)
        self.sum += float(x64.sum())
        # einsum, not a BLAS dot: no thread start-up per block
        self.sumsq += float(np.einsum("i,i->", x64, x64))
        self.clipped += int(np.count_nonzero(np.abs(mono) >= CLIP_LEVEL))
        self._spectrum(mono)

    def _spectrum(self, mono: npt.NDArray[np.float32]) -> None:
        buf = np.concatenate([self._rest, mono]) if self._rest.size else mono
        n = self._nfft
        m = buf.shape[0] // n
        if m:
            frames = buf[: m * n].reshape(m, n)
            # every fourth frame (absolute index) keeps the cost small; the choice does
            # not depend on how the input was cut into blocks
            pick = (self._frame_index + np.arange(m)) % 4 == 0
            if pick.any():
                spec = np.fft.rfft(frames[pick] * self._window, axis=1)
                self._power += (spec.real**2 + spec.imag**2).sum(axis=0)
                self._frames += int(pick.sum())
            self._frame_index += m
        self._rest = np.array(buf[m * n :], dtype=np.float32)

    @property
    def dc(self) -> float:
        """Mean of the samples so far (fraction of full scale)."""
        return self.sum / self.count if self.count else 0.0

    @property
    def peak(self) -> float:
        """Largest magnitude so far."""
        return max(self.top, -self.bottom) if self.count else 0.0

    def peak_without_dc(self) -> float:
        """Largest magnitude once the mean is subtracted."""
        if not self.count:
            return 0.0
        return max(self.top - self.dc, self.dc - self.bottom)

    def bandwidth(self) -> float:
        """Effective bandwidth in Hz (0 for silence or too little audio)."""
        if self._frames == 0:
            return float(self.sample_rate / 2) if self.count else 0.0
        p = self._power / self._frames
        bin_hz = self.sample_rate / self._nfft
        width = max(1, round(200.0 / bin_hz))
        smooth = np.convolve(p, np.ones(width) / width, mode="same")
        db = 10.0 * np.log10(np.maximum(smooth, 1e-30))
        lo = int(math.ceil(50.0 / bin_hz))
        band = db[lo:]
        if band.size == 0 or band.max() <= -290.0:
            return 0.0
        threshold = float(band.max()) - BANDWIDTH_DB
        above = np.nonzero(band > threshold)[0]
        return float((lo + above[-1]) * bin_hz) if above.size else 0.0

    def report(self) -> InputQuality:
        """The :class:`InputQuality` of everything seen so far."""
        n = max(self.count, 1)
        rms = math.sqrt(self.sumsq / n)
        return InputQuality(
            sample_rate=self.sample_rate,
            channels=self.channels,
            duration_s=self.count / self.sample_rate,
            peak_dbfs=dbfs(self.peak),
            rms_dbfs=dbfs(rms),
            dc_offset=self.dc,
            clipped_fraction=self.clipped / n,
            bandwidth_hz=self.bandwidth(),
        )
