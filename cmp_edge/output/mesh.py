"""Mesh and parameter files: PLY (binary little-endian), OBJ, XYZ, NPZ/JSON.

Every writer is atomic (:func:`cmp_edge._safe.atomic.atomic_write`): the data goes to a
temporary file beside the target that replaces it only when complete, so a
reader never sees a partial file.

Vertices are written as float32 (x, y, z in model units, e.g. mm); triangles
as 0-based int32 indices in PLY and 1-based in OBJ; optional per-vertex
colours as uint8 RGB (PLY ``red green blue`` properties; OBJ ``v x y z r g b``
with r, g, b = value / 255 as floats, the extension read by trimesh, MeshLab
and Blender).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.atomic import write_chunks
from cmp_edge.errors import OutputError

__all__ = [
    "check_mesh",
    "save_mesh",
    "vertex_colors",
    "write_obj",
    "write_ply",
    "write_xyz",
]

_FACE_DTYPE = np.dtype([("n", "u1"), ("i", "<i4", (3,))])  # packed: 13 bytes per face
_COLORED_VERTEX_DTYPE = np.dtype([("p", "<f4", (3,)), ("c", "u1", (3,))])  # 15 bytes


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


def write_ply(
    path: str | os.PathLike[str],
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    colors: npt.ArrayLike | None = None,
    *,
    overwrite: bool = True,
) -> None:
    """Write a binary little-endian PLY mesh.

    Args:
        path: output file (any suffix).
        vertices: (N, 3) positions, stored as float32 ``x y z``.
        triangles: (F, 3) 0-based vertex indices, stored as
            ``list uchar int vertex_indices``.
        colors: optional (N, 3) uint8 RGB or float in [0, 1], stored as uchar
            ``red green blue``.
        overwrite: replace an existing file (else OutputError).

    Raises:
        ValueError: bad shapes or non-finite vertices. IndexError: a triangle
            index outside [0, N). OutputError: the path cannot be written.
    """
    verts, tris = check_mesh(vertices, triangles)
    cols = vertex_colors(colors, len(verts))
    header = [
        "ply",
        "format binary_little_endian 1.0",
        "comment cmp-edge",
        f"element vertex {len(verts)}",
        "property float x",
        "property float y",
        "property float z",
    ]
    if cols is not None:
        header += ["property uchar red", "property uchar green", "property uchar blue"]
        vertex_block = np.empty(len(verts), dtype=_COLORED_VERTEX_DTYPE)
        vertex_block["p"] = verts
        vertex_block["c"] = cols
    else:
        vertex_block = verts.astype("<f4", copy=False)
    header += [f"element face {len(tris)}", "property list uchar int vertex_indices", "end_header"]
    faces = np.empty(len(tris), dtype=_FACE_DTYPE)
    faces["n"] = 3
    faces["i"] = tris
    head = ("\n".join(header) + "\n").encode("ascii")
    write_chunks(path, (head, vertex_block.tobytes(), faces.tobytes()), overwrite=overwrite)


def write_obj(
    path: str | os.PathLike[str],
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    colors: npt.ArrayLike | None = None,
    *,
    overwrite: bool = True,
) -> None:
    """Write a Wavefront OBJ mesh (text; formatted by the C++ core).

    Lines are ``v x y z`` (or ``v x y z r g b`` with colours as value / 255)
    with each float32 printed in its shortest round-trip decimal form, then
    ``f a b c`` with 1-based indices. Arguments and errors as in
    :func:`write_ply`.
    """
    from cmp_edge._native import ext

    _C = ext()

    verts, tris = check_mesh(vertices, triangles)
    cols = vertex_colors(colors, len(verts))
    col_floats = None if cols is None else cols.astype(np.float32) / np.float32(255.0)
    text = _C.format_obj(verts, tris, col_floats)
    write_chunks(path, (b"# cmp-edge\n", text), overwrite=overwrite)


def write_xyz(
    path: str | os.PathLike[str], vertices: npt.ArrayLike, *, overwrite: bool = True
) -> None:
    """Write vertices as text, one ``x y z`` line per vertex (the Voxceleb-3D ``.xyz`` layout)."""
    from cmp_edge._native import ext

    _C = ext()

    verts, tris = check_mesh(vertices, np.zeros((0, 3), dtype=np.int32))
    text: bytes = _C.format_obj(verts, tris, None)
    write_chunks(path, (text.replace(b"v ", b""),), overwrite=overwrite)


_WRITERS = {".ply": write_ply, ".obj": write_obj}


def save_mesh(
    path: str | os.PathLike[str],
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    colors: npt.ArrayLike | None = None,
    overwrite: bool = True,
) -> None:
    """Write a mesh in the format named by the suffix: ``.ply`` (binary LE) or ``.obj``.

    Raises:
        OutputError: unknown suffix, or the path cannot be written.
        ValueError, IndexError: see :func:`write_ply`.
    """
    suffix = Path(path).suffix.lower()
    writer = _WRITERS.get(suffix)
    if writer is None:
        shown = suffix or "(no suffix)"
        raise OutputError(f"{path}: unknown mesh format {shown!r}; use .ply or .obj")
    writer(path, vertices, triangles, colors, overwrite=overwrite)
