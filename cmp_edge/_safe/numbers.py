"""Checks of numbers given by callers (options) or read from files.

Booleans are never numbers here, and NaN or infinity never pass: a NaN
threshold would silently disable the check it configures.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import CmpEdgeError

__all__ = ["require_finite", "seconds", "thread_count"]


def seconds(value: Any, name: str, error: type[CmpEdgeError], *, positive: bool = False) -> float:
    """``value`` as float seconds if it is a finite number >= 0 (> 0 when ``positive``).

    Raises:
        error: ``"{name} must be a finite number of seconds ..."``.
    """
    bound = "> 0" if positive else ">= 0"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        raise error(f"{name} must be a finite number of seconds {bound}, got {value!r:.40}")
    return float(value)


def thread_count(value: Any, name: str, error: type[CmpEdgeError], cores: int) -> int | None:
    """None, or ``value`` (a positive integer) clamped to ``cores``.

    Raises:
        error: not None and not a positive integer (booleans are not integers).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise error(f"{name}: {value!r:.40} is invalid; pass a positive integer")
    return min(value, max(1, cores))


def require_finite(
    values: npt.NDArray[Any], where: str, what: str, error: type[CmpEdgeError]
) -> None:
    """Raise ``error`` if ``values`` (a numeric array) holds NaN or infinity.

    NaN and infinity propagate through a float64 sum, and finite float32 values
    cannot overflow it, so one pass without a temporary array decides.
    """
    if values.size and not np.isfinite(np.sum(values, dtype=np.float64)):
        raise error(f"{where}: {what} holds NaN or infinite values; the file is damaged")
