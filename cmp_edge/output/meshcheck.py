"""Checks of mesh arrays shared by every mesh writer and the renderer: positions,
triangle indices and per-vertex colours."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["check_mesh", "vertex_colors"]


def check_mesh(
    vertices: npt.ArrayLike, triangles: npt.ArrayLike, *, native_checked: bool = False
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Validated float32 (N, 3) vertices and int32 (F, 3) triangles.

    Raises ValueError for wrong shapes, non-integer triangles or non-finite vertices
    and IndexError for a triangle referring to a missing vertex. ``native_checked``:
    the caller's native code itself rejects non-finite vertices and out-of-range int32
    indices, so only what it cannot see is checked here (shapes, dtypes, and indices
    wider than int32, which would wrap on conversion).
    """
    verts = np.ascontiguousarray(vertices, dtype=np.float32)
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise ValueError(f"vertices must have shape (N, 3), got {verts.shape}")
    if not native_checked and not np.isfinite(verts).all():
        raise ValueError("vertices must be finite (NaN or infinity found)")
    tris = np.asarray(triangles)
    if tris.ndim != 2 or tris.shape[1] != 3:
        raise ValueError(f"triangles must have shape (F, 3), got {tris.shape}")
    if tris.size:
        if not np.issubdtype(tris.dtype, np.integer):
            raise ValueError(f"triangles must hold integers, got {tris.dtype}")
        if not native_checked or tris.dtype != np.int32:
            lo, hi = int(tris.min()), int(tris.max())
            if lo < 0 or hi >= len(verts):
                raise IndexError(
                    f"a triangle refers to vertex {lo if lo < 0 else hi}, "
                    f"but the mesh has {len(verts)} vertices"
                )
    return verts, np.ascontiguousarray(tris, dtype=np.int32)


def vertex_colors(
    colors: npt.ArrayLike | None, n: int, *, as_float: bool = False
) -> npt.NDArray[Any] | None:
    """Check per-vertex colours (N, 3): integers in 0-255 or floats in [0, 1].

    Returns uint8 (floats scaled by 255 and rounded), or with ``as_float``
    float32 in [0, 1] (integers divided by 255); None stays None.

    Raises:
        ValueError: wrong shape, dtype, or values outside the range of their type.
    """
    if colors is None:
        return None
    arr = np.asarray(colors)
    if arr.shape != (n, 3):
        raise ValueError(f"colors must have shape ({n}, 3), got {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        if arr.dtype != np.uint8 and arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError("integer colors must be in 0-255")
        if as_float:
            return (arr.astype(np.float32) / np.float32(255.0)).astype(np.float32)
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or (arr.size and (arr.min() < 0 or arr.max() > 1)):
            raise ValueError("float colors must be finite and in [0, 1] (or integers in 0-255)")
        if as_float:
            return np.ascontiguousarray(arr, dtype=np.float32)
        return np.rint(arr * 255.0).astype(np.uint8)
    raise ValueError(f"colors must be integers in 0-255 or floats in [0, 1], got {arr.dtype}")
