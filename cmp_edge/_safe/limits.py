"""Resource limits for everything read from files: one table, checked before allocating.

Every size a file declares (array elements, decompressed bytes, audio frames,
image pixels, padding length, JSON nesting) is compared with these limits
*before* memory is allocated for it, so a small hostile file cannot make
cmp-edge allocate gigabytes. The defaults fit every real model and recording
cmp-edge is meant for, with a wide margin; callers who need more raise them:

    >>> from cmp_edge.limits import get_limits, limits, set_limits
    >>> with limits(max_audio_seconds=3600.0):   # this block only (process-wide)
    ...     pass
    >>> previous = set_limits(max_elements=1 << 28)  # until changed back

The limits are process-wide (all threads see the same values).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Limits",
    "check_bytes",
    "check_elements",
    "get_limits",
    "limits",
    "set_limits",
]


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what a file may make cmp-edge allocate.

    Attributes:
        max_elements: elements of one array read from a file (face-model bases,
            checkpoint tensors, .npy members). Default 2**27 (134 million; 512 MiB
            as float32). The Basel Face Model 2009 shape basis has 32 million.
        max_bytes: bytes one compressed or archived member may expand to (zip /
            .npz / .tar members, compressed MATLAB variables, PNG image data, a
            checkpoint's pickle). Default 2**30 (1 GiB).
        max_audio_seconds: audio duration accepted by loaders and the runtime, in
            seconds. Default 43200 (12 hours: files are decoded and analysed
            incrementally, so memory does not grow with the duration; CMP uses a few
            seconds). Also the ``--max-duration`` option and
            ``Reconstructor(max_duration_s=...)``.
        max_image_pixels: width x height of a PNG that is decoded. Default 2**26
            (64 megapixels).
        max_pad_frames: a bundle's ``pad_to`` (feature frames, 100 per second).
            Default 100000 (1000 s; CMP uses 1000).
        max_json_depth: nesting of JSON read from files (bundle metadata, face
            model metadata, manifests). Default 64.
    """

    max_elements: int = 1 << 27
    max_bytes: int = 1 << 30
    max_audio_seconds: float = 43200.0
    max_image_pixels: int = 1 << 26
    max_pad_frames: int = 100_000
    max_json_depth: int = 64

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"limit {f.name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"limit {f.name} must be a finite number > 0, got {value!r}")
            if f.type in ("int", int) and not isinstance(value, int):
                raise TypeError(f"limit {f.name} must be an integer, got {value!r}")


_lock = threading.Lock()
_current = Limits()


def get_limits() -> Limits:
    """The limits in force."""
    return _current


def set_limits(**changes: Any) -> Limits:
    """Change some limits (by :class:`Limits` field name); return the previous ones.

    Raises:
        TypeError: an unknown name, or a value that is not a number (booleans are not).
        ValueError: a value that is not finite and > 0.
    """
    global _current
    names = {f.name for f in dataclasses.fields(Limits)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise TypeError(f"unknown limit(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    with _lock:
        previous = _current
        _current = dataclasses.replace(previous, **changes)
    return previous


@contextlib.contextmanager
def limits(**changes: Any) -> Iterator[Limits]:
    """Context manager: the limits changed as in :func:`set_limits`, restored on exit."""
    global _current
    previous = set_limits(**changes)
    try:
        yield _current
    finally:
        with _lock:
            _current = previous


def check_elements(count: int, where: str, what: str, error: type[Exception]) -> None:
    """Raise ``error`` when an array of ``count`` elements exceeds ``max_elements``."""
    limit = _current.max_elements
    if count > limit:
        raise error(
            f"{where}: {what} declares {count} elements, more than the limit {limit} "
            "(a damaged or hostile file?); raise cmp_edge.limits max_elements if it is genuine"
        )


def check_bytes(count: int, where: str, what: str, error: type[Exception]) -> None:
    """Raise ``error`` when ``count`` bytes (decompressed) exceed ``max_bytes``."""
    limit = _current.max_bytes
    if count > limit:
        raise error(
            f"{where}: {what} expands to {count} bytes, more than the limit {limit} "
            "(a damaged or hostile file?); raise cmp_edge.limits max_bytes if it is genuine"
        )
