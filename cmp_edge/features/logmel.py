"""CMP log-mel spectrum, batch and streaming (spec section 1, steps 1-5).

The "cmp" preset reproduces exactly the features the published Cross-Modal
Perceptionist models consume (64-band Sphinx log-mel, 100 frames/s; see
``docs/architecture.md``). The spectrum itself is computed by the native core
(``cmp_edge._C``) in float64 with a SIMD FFT (four frames per AVX2 register); it
matches the float64 definition to the float32 output resolution (about 1e-6).

Shapes: ``samples`` are 1-D (n,) mono; spectra are (T, n_mels) float32 with
``T = n // hop_length + 1`` frames (frame k starts at sample ``k * hop_length``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.signal import INT16_SCALE, SAMPLE_RATE

__all__ = ["LogMelOptions", "OnlineLogMel", "log_mel"]

_INT16_SCALE: Final = INT16_SCALE
_WINDOWS: Final = ("hamming", "hann")


@dataclasses.dataclass(frozen=True)
class LogMelOptions:
    """Settings of the log-mel frontend; the defaults are the published "cmp" preset.

    Attributes:
        sample_rate: input rate in Hz.
        n_mels: number of mel filters (output columns).
        f_min: lower edge of the first filter in Hz.
        f_max: upper edge of the last filter in Hz (at most ``sample_rate / 2``).
        n_fft: FFT length in samples, a power of two >= ``win_length``.
        win_length: analysis window in samples (the frame length).
        hop_length: frame shift in samples.
        preemphasis: pre-emphasis coefficient in [0, 1) (state carried across frames).
        window: "hamming" or "hann" (symmetric).
        floor: lower clamp of the mel power before the natural log (>= 1e-30).
    """

    sample_rate: int = SAMPLE_RATE
    n_mels: int = 64
    f_min: float = 20.0
    f_max: float = 7200.0
    n_fft: int = 1024
    win_length: int = 400
    hop_length: int = 160
    preemphasis: float = 0.97
    window: str = "hamming"
    floor: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_mels", "n_fft", "win_length", "hop_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"LogMelOptions.{name} must be an int, not {value!r}")
            object.__setattr__(self, name, int(value))
        for name in ("f_min", "f_max", "preemphasis", "floor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
                raise ValueError(f"LogMelOptions.{name} must be a number, not {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"LogMelOptions.{name} must be finite, not {value!r}")
            object.__setattr__(self, name, float(value))
        if not 1000 <= self.sample_rate <= 1_000_000:
            raise ValueError(f"LogMelOptions.sample_rate={self.sample_rate} Hz is out of range")
        if self.n_fft < 16 or self.n_fft > 65536 or self.n_fft & (self.n_fft - 1):
            raise ValueError(
                f"LogMelOptions.n_fft={self.n_fft} must be a power of two in 16..65536"
            )
        if not 2 <= self.win_length <= self.n_fft:
            raise ValueError(
                f"LogMelOptions.win_length={self.win_length} must be in 2..n_fft ({self.n_fft})"
            )
        if self.hop_length < 1:
            raise ValueError(f"LogMelOptions.hop_length={self.hop_length} must be >= 1")
        if self.n_mels < 1:
            raise ValueError(f"LogMelOptions.n_mels={self.n_mels} must be >= 1")
        if not 0.0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError(
                f"LogMelOptions needs 0 <= f_min < f_max <= sample_rate / 2, got "
                f"f_min={self.f_min}, f_max={self.f_max}, sample_rate={self.sample_rate}"
            )
        if not 0.0 <= self.preemphasis < 1.0:
            raise ValueError(f"LogMelOptions.preemphasis={self.preemphasis} must be in [0, 1)")
        if self.window not in _WINDOWS:
            raise ValueError(f"LogMelOptions.window={self.window!r} must be one of {_WINDOWS}")
        if not self.floor >= 1e-30:
            raise ValueError(f"LogMelOptions.floor={self.floor} must be >= 1e-30")

    @classmethod
    def preset(cls, name: str = "cmp") -> LogMelOptions:
        """Named settings; "cmp" is the published Cross-Modal Perceptionist frontend."""
        if name != "cmp":
            raise ValueError(f"unknown LogMelOptions preset {name!r}; known presets: 'cmp'")
        return cls()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (JSON-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogMelOptions:
        """Inverse of :meth:`to_dict`; unknown keys raise ValueError, missing keys default."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown LogMelOptions fields {unknown}; known: {sorted(known)}")
        return cls(**dict(data))


def _as_signal(samples: npt.ArrayLike, what: str = "samples") -> tuple[np.ndarray, float]:
    """Validate a 1-D mono signal; return it as contiguous float32 and its int16 scale.

    int16 arrays are taken as they are (scale 1); float arrays are in [-1, 1)
    and scaled by 32768 inside the native code.
    """
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D mono array, got shape {arr.shape}")
    if arr.dtype == np.int16:
        return np.ascontiguousarray(arr, dtype=np.float32), 1.0
    if arr.dtype.kind == "f":
        # NaN/Inf (also float64 values beyond the float32 range) are rejected natively.
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray(arr, dtype=np.float32), _INT16_SCALE
    raise ValueError(f"{what} must be int16 or floating point in [-1, 1), not dtype {arr.dtype}")


@functools.lru_cache(maxsize=16)
def _batch_plan(options: LogMelOptions) -> Any:
    from cmp_edge._native import ext

    _C = ext()

    return _C.LogMel(**options.to_dict())


def log_mel(
    samples: npt.ArrayLike,
    sample_rate: int,
    options: LogMelOptions | None = None,
    *,
    threads: int = 1,
) -> np.ndarray:
    """Raw log-mel spectrum (spec section 1, steps 1-5), without normalisation.

    Args:
        samples: (n,) mono signal, float in [-1, 1) (scaled by 32768 internally) or int16.
        sample_rate: rate of ``samples`` in Hz; must equal ``options.sample_rate``
            (resample first with :func:`cmp_edge.audio.decode.resample`).
        options: frontend settings; default the "cmp" preset.
        threads: worker threads for long signals (1 = the calling thread only).

    Returns:
        (n // hop_length + 1, n_mels) float32 natural-log mel energies.

    Raises:
        ValueError: wrong shape, dtype, rate, or NaN/Inf samples.
    """
    opts = options if options is not None else LogMelOptions()
    if int(sample_rate) != opts.sample_rate:
        raise ValueError(
            f"sample_rate {sample_rate} Hz differs from options.sample_rate "
            f"{opts.sample_rate} Hz; resample first (cmp_edge.audio.decode.resample)"
        )
    if isinstance(threads, bool) or int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    x, scale = _as_signal(samples)
    out: np.ndarray = _batch_plan(opts).compute(x, scale, int(threads))
    return out


class OnlineLogMel:
    """Streaming log-mel: feed audio in any chunks, read frames as soon as they are complete.

    The frames equal :func:`log_mel` on the concatenated input for every chunking,
    including the carried pre-emphasis state and, after :meth:`input_finished`,
    the cyclically filled tail frames. Frame indices are absolute: they do not
    change when old frames are released with :meth:`pop`.

    Example::

        stream = OnlineLogMel()
        for chunk in chunks:                 # float32 in [-1, 1) or int16
            stream.accept_waveform(chunk)
        stream.input_finished()
        frames = stream.get_frames(0, stream.num_frames_ready)   # (T, 64)
    """

    def __init__(self, options: LogMelOptions | None = None) -> None:
        from cmp_edge._native import ext

        _C = ext()

        self.options = options if options is not None else LogMelOptions()
        self._impl = _C.OnlineLogMel(**self.options.to_dict())

    def accept_waveform(self, samples: npt.ArrayLike) -> None:
        """Append samples (1-D, float in [-1, 1) or int16) at ``options.sample_rate``.

        Raises:
            RuntimeError: after :meth:`input_finished`.
            ValueError: wrong shape or dtype, NaN/Inf.
        """
        if type(samples) is np.ndarray and samples.dtype == np.float32 and samples.ndim == 1:
            # fast path for the common case; the native side checks NaN/Inf and copies
            self._impl.accept_waveform(samples, _INT16_SCALE)
            return
        x, scale = _as_signal(samples)
        self._impl.accept_waveform(x, scale)

    def input_finished(self) -> None:
        """Declare the end of the input; the remaining (tail) frames become ready."""
        self._impl.input_finished()

    @property
    def num_frames_ready(self) -> int:
        """Absolute count of frames computed so far (popped ones included)."""
        return int(self._impl.num_frames_ready)

    @property
    def first_frame(self) -> int:
        """Index of the oldest frame still held (the number popped so far)."""
        return int(self._impl.first_frame)

    @property
    def num_samples(self) -> int:
        """Samples accepted so far."""
        return int(self._impl.num_samples)

    @property
    def is_finished(self) -> bool:
        """True after :meth:`input_finished`."""
        return bool(self._impl.is_finished)

    def get_frames(self, start: int, n: int) -> np.ndarray:
        """Copy of frames [start, start + n) as (n, n_mels) float32.

        Raises:
            IndexError: the range is not within [first_frame, num_frames_ready).
        """
        out: np.ndarray = self._impl.get_frames(int(start), int(n))
        return out

    def pop(self, n: int) -> None:
        """Release the n oldest held frames (indices of the others do not change).

        Raises:
            IndexError: fewer than n frames are held.
        """
        self._impl.pop(int(n))

    def __repr__(self) -> str:
        return (
            f"OnlineLogMel(frames_ready={self.num_frames_ready}, first_frame={self.first_frame}, "
            f"finished={self.is_finished}, options={self.options!r})"
        )
