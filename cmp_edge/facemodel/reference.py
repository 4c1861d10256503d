"""Plain NumPy reconstruction: the reference for tests and the fallback without the extension.

Formula (per face b): ``v_b = s_b * R_b @ (mean + W_s a_b + W_e e_b) + t_b``, with
the 3N vectors xyz interleaved per vertex (row 3*i + c is coordinate c of vertex i).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["reconstruct_reference"]


def reconstruct_reference(
    mean: npt.ArrayLike,
    shape_basis: npt.ArrayLike,
    expr_basis: npt.ArrayLike | None,
    shape_coeffs: npt.ArrayLike,
    expr_coeffs: npt.ArrayLike | None = None,
    scale: npt.ArrayLike = 1.0,
    rotation: npt.ArrayLike | None = None,
    translation: npt.ArrayLike | None = None,
    dtype: npt.DTypeLike = np.float32,
) -> np.ndarray:
    """Vertices (B, N, 3) float32 for a batch of coefficients.

    Args:
        mean: (N, 3) mean shape.
        shape_basis: (3N, Ks) shape basis, xyz interleaved rows.
        expr_basis: (3N, Ke) expression basis or None.
        shape_coeffs: (B, ks) with ks <= Ks (the first ks columns are used).
        expr_coeffs: (B, ke) with ke <= Ke, or None.
        scale: scalar or (B,).
        rotation: None, (3, 3) or (B, 3, 3).
        translation: None, (3,) or (B, 3).
        dtype: arithmetic type (float32 like the native path, float64 for tests).
    """
    mu = np.asarray(mean, dtype=dtype).reshape(-1)
    a = np.atleast_2d(np.asarray(shape_coeffs, dtype=dtype))
    w = np.asarray(shape_basis)[:, : a.shape[1]].astype(dtype, copy=False)
    flat = a @ w.T + mu  # (B, 3N)
    if expr_coeffs is not None and expr_basis is not None:
        e = np.atleast_2d(np.asarray(expr_coeffs, dtype=dtype))
        we = np.asarray(expr_basis)[:, : e.shape[1]].astype(dtype, copy=False)
        flat += e @ we.T
    b = flat.shape[0]
    v = flat.reshape(b, -1, 3)
    if rotation is not None:
        r = np.broadcast_to(np.asarray(rotation, dtype=dtype), (b, 3, 3))
        v = np.einsum("bnc,bdc->bnd", v, r)
    s = np.broadcast_to(np.asarray(scale, dtype=dtype).reshape(-1), (b,))
    v = v * s[:, None, None]
    if translation is not None:
        t = np.broadcast_to(np.asarray(translation, dtype=dtype), (b, 3))
        v = v + t[:, None, :]
    return np.ascontiguousarray(v, dtype=np.float32)
