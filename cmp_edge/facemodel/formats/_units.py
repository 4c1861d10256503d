"""Unit detection for face-model files that do not state their unit."""

from __future__ import annotations

import numpy as np

from cmp_edge.errors import FaceModelError

__all__ = ["to_mm_factor"]


def to_mm_factor(mean: np.ndarray, where: str) -> float:
    """Factor that brings the coordinates of ``mean`` (N, 3) to millimetres.

    Decided from the face's width (x extent): about 1.5e5 means micrometres,
    about 150 millimetres, about 0.15 metres.
    """
    width = float(np.ptp(np.asarray(mean, dtype=np.float64)[:, 0]))
    if 2e4 <= width <= 2e6:
        return 1e-3
    if 20.0 <= width <= 2000.0:
        return 1.0
    if 0.02 <= width <= 2.0:
        return 1e3
    raise FaceModelError(
        f"{where}: cannot tell the coordinate unit from the face width {width:g} "
        "(expected ~1.5e5 micrometres, ~150 mm or ~0.15 m)"
    )
