"""The parameter layout of the CMP networks and their un-whitening (spec section 3).

Networks output whitened values ``[scale, 40 shape, 10 expression]`` (51 values);
``value = whitened * param_std + param_mean`` per entry. Voxceleb-3D stores each
face as 228 BFM-layout parameters (199 shape + 29 expression), of which the
networks use ``shape[:40]`` and ``expr[:10]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BFM_EXPR",
    "BFM_SHAPE",
    "CMP_LAYOUT",
    "N_CMP_PARAMS",
    "N_VOXCELEB3D_PARAMS",
    "PUBLISHED_SCALE_MEAN",
    "PUBLISHED_SCALE_STD",
    "layout_slices",
    "unwhiten",
    "voxceleb3d_to_cmp",
]

PUBLISHED_SCALE_MEAN: Final = 0.0005920184194110334
"""Mean of the scale entry of the published supervised decoder (spec section 3)."""
PUBLISHED_SCALE_STD: Final = 1.538597731841497e-05
"""Standard deviation of the published scale entry (spec section 3)."""

CMP_LAYOUT: Final[Mapping[str, int]] = {"scale": 1, "shape": 40, "expr": 10}
"""Parameter counts in network output order (spec section 3)."""
N_CMP_PARAMS: Final = 51
"""Values the CMP networks output: 1 scale + 40 shape + 10 expression."""
BFM_SHAPE: Final = 199
"""Shape parameters per face in the Voxceleb-3D ``faces/<name>/<k>.npy`` files."""
BFM_EXPR: Final = 29
"""Expression parameters per face in the Voxceleb-3D files."""
N_VOXCELEB3D_PARAMS: Final = BFM_SHAPE + BFM_EXPR
"""Values per Voxceleb-3D face parameter file (228)."""


def layout_slices(layout: Mapping[str, int]) -> dict[str, slice]:
    """Slices of each named block in output order, e.g. {"scale": slice(0, 1), ...}."""
    out: dict[str, slice] = {}
    start = 0
    for name, count in layout.items():
        out[name] = slice(start, start + int(count))
        start += int(count)
    return out


def unwhiten(
    whitened: npt.ArrayLike,
    mean: npt.ArrayLike,
    std: npt.ArrayLike,
    layout: Mapping[str, int] = CMP_LAYOUT,
) -> dict[str, Any]:
    """Whitened (P,) values -> parameters by name.

    Args:
        whitened: (P,) network output.
        mean, std: (P,) un-whitening per entry (bundle metadata).
        layout: block sizes in output order.

    Returns:
        {"scale": float, "shape": (40,) float32, "expr": (10,) float32} (the names of
        ``layout``; a one-value block named "scale" is a Python float).
    """
    values = np.asarray(whitened, dtype=np.float64) * np.asarray(std) + np.asarray(mean)
    out: dict[str, Any] = {}
    for name, sl in layout_slices(layout).items():
        out[name] = float(values[sl][0]) if name == "scale" else values[sl].astype(np.float32)
    return out


def voxceleb3d_to_cmp(params: npt.ArrayLike, scale: float) -> npt.NDArray[np.float32]:
    """(228,) Voxceleb-3D parameters -> (51,) un-whitened ``[scale, shape[:40], expr[:10]]``.

    Raises:
        ValueError: ``params`` does not hold 228 values.
    """
    p = np.asarray(params, dtype=np.float32).reshape(-1)
    if p.shape[0] != N_VOXCELEB3D_PARAMS:
        raise ValueError(f"params must hold {N_VOXCELEB3D_PARAMS} values, got {p.shape[0]}")
    out = np.empty(N_CMP_PARAMS, dtype=np.float32)
    out[0] = scale
    out[1:41] = p[:40]
    out[41:51] = p[BFM_SHAPE : BFM_SHAPE + 10]
    return out
