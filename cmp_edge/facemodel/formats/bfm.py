"""Basel Face Model 2009 (.mat) loader. Users bring the file themselves.

Expected variables: ``shapeMU`` (3N, 1), ``shapePC`` (3N, K, orthonormal
columns), ``shapeEV`` (K, 1, standard deviations), ``tl`` (F, 3, 1-based
triangles); optional 3DDFA-style expression basis ``expPC`` (3N, Ke) with
``expEV`` (Ke, 1) or ``w_exp`` (3N, Ke). Coordinates in micrometres are
converted to millimetres (``FaceModel.source_scale`` records the factor).

The coefficient convention of the file is kept: ``vertices = mean +
shape_basis @ a`` with ``a ~ N(0, shape_std^2)``; ``FaceModel.whitened()``
gives the N(0, 1) form.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge._safe.boundary import guarded, reason
from cmp_edge._safe.matfile import check_mat_sizes
from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData, model_data
from cmp_edge.facemodel.formats._units import to_mm_factor
from cmp_edge.facemodel.landmarks import bfm_are_landmarks as cmp_landmarks

__all__ = ["read_bfm"]

_FIX = "check that it is the Basel Face Model 2009 01_MorphableModel.mat"


def _numeric(value: Any, key: str, p: Path) -> np.ndarray:
    """A variable as a numeric matrix (cells, structs, strings, sparse matrices refused)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.ndim > 2:
        kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise FaceModelError(f"{p}: variable {key} is not a numeric matrix ({kind}); {_FIX}")
    if value.size and not np.isfinite(value.sum(dtype=np.float64)):
        raise FaceModelError(f"{p}: variable {key} holds NaN or infinite values; {_FIX}")
    return value


def _get(mat: dict[str, Any], key: str, p: Path) -> np.ndarray:
    if key not in mat:
        raise FaceModelError(f"{p}: not a Basel Face Model 2009 file (variable {key} missing)")
    return _numeric(mat[key], key, p)


@guarded(FaceModelError, "the .mat file", _FIX)
def read_bfm(path: str | os.PathLike[str]) -> ModelData:
    """Load a Basel Face Model 2009 .mat file (see the module docstring).

    Raises:
        FaceModelError: not a readable BFM 2009 file: missing or non-numeric
            variables (cells, structs, strings), NaN or infinite values, compressed
            variables beyond :mod:`cmp_edge._safe.limits`, inconsistent sizes.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    p = Path(path)
    keys = ["shapeMU", "shapePC", "shapeEV", "tl", "expPC", "expEV", "w_exp"]
    check_mat_sizes(p, FaceModelError)
    try:
        mat = loadmat(str(p), variable_names=keys)
    except NotImplementedError:
        raise FaceModelError(
            f"{p}: MATLAB v7.3 (HDF5) file; re-save it in MATLAB with save(..., '-v7')"
        ) from None
    except MatReadError as exc:
        raise FaceModelError(f"{p}: cannot read the .mat file ({reason(exc)}); {_FIX}") from None
    mu = _get(mat, "shapeMU", p).astype(np.float64).reshape(-1)
    pc = _get(mat, "shapePC", p)
    ev = _get(mat, "shapeEV", p).astype(np.float32).reshape(-1)
    tl = _get(mat, "tl", p)
    if mu.size % 3 or pc.ndim != 2 or pc.shape[0] != mu.size or ev.size != pc.shape[1]:
        raise FaceModelError(
            f"{p}: inconsistent BFM arrays (shapeMU {mu.size}, shapePC {pc.shape}, "
            f"shapeEV {ev.size})"
        )
    n = mu.size // 3
    mean = mu.reshape(n, 3)
    factor = to_mm_factor(mean, str(p))
    tri = np.asarray(tl, dtype=np.int64)
    if tri.ndim != 2 or 3 not in tri.shape:
        raise FaceModelError(f"{p}: tl must be (F, 3), got {tri.shape}")
    if tri.shape[1] != 3:
        tri = tri.T
    tri = tri - 1  # MATLAB is 1-based
    if tri.size and (tri.min() < 0 or tri.max() >= n):
        raise FaceModelError(f"{p}: triangle indices outside 1..{n}")
    expr: np.ndarray | None = None
    expr_std = None
    if "expPC" in mat:
        expr = _get(mat, "expPC", p).astype(np.float32)
        if "expEV" in mat:
            expr_std = _get(mat, "expEV", p).astype(np.float32).reshape(-1)
    elif "w_exp" in mat:
        expr = _get(mat, "w_exp", p).astype(np.float32)
    if expr is not None and (expr.ndim != 2 or expr.shape[0] != 3 * n):
        raise FaceModelError(f"{p}: expression basis has shape {expr.shape}, expected ({3 * n}, K)")
    return model_data(
        (mean * factor).astype(np.float32),
        np.asarray(pc, dtype=np.float32) * np.float32(factor),
        None if expr is None else expr * np.float32(factor),
        tri.astype(np.int32),
        cmp_landmarks(n),
        shape_std=ev,
        expr_std=expr_std,
        units="mm",
        id="bfm2009",
        source_scale=factor,
    )
