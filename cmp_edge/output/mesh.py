"""Mesh files: PLY (binary little-endian), OBJ, XYZ, and :func:`save_mesh`, which
picks PLY, OBJ or glTF binary (:mod:`cmp_edge.output.glb`) by suffix.

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

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.atomic import write_chunks
from cmp_edge.errors import OutputError
from cmp_edge.output.glb import write_glb
from cmp_edge.output.meshcheck import check_mesh, vertex_colors

__all__ = [
    "MESH_SUFFIXES",
    "check_mesh",
    "save_mesh",
    "vertex_colors",
    "write_obj",
    "write_ply",
    "write_xyz",
]

_FACE_DTYPE = np.dtype([("n", "u1"), ("i", "<i4", (3,))])  # packed: 13 bytes per face
_COLORED_VERTEX_DTYPE = np.dtype([("p", "<f4", (3,)), ("c", "u1", (3,))])  # 15 bytes


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


MESH_SUFFIXES = (".ply", ".obj", ".glb")
"""The mesh formats :func:`save_mesh` writes, by file suffix."""


def save_mesh(
    path: str | os.PathLike[str],
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    colors: npt.ArrayLike | None = None,
    overwrite: bool = True,
    *,
    units: str = "mm",
) -> None:
    """Write a mesh in the format named by the suffix: ``.ply`` (binary LE), ``.obj``
    (both in model units) or ``.glb`` (glTF 2.0 binary, converted from ``units`` to
    metres, :func:`cmp_edge.output.glb.write_glb`).

    Raises:
        OutputError: unknown suffix, or the path cannot be written.
        ValueError, IndexError: see :func:`write_ply` (and an unknown ``units`` for .glb).
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".ply":
        write_ply(path, vertices, triangles, colors, overwrite=overwrite)
    elif suffix == ".obj":
        write_obj(path, vertices, triangles, colors, overwrite=overwrite)
    elif suffix == ".glb":
        write_glb(path, vertices, triangles, colors, overwrite=overwrite, units=units)
    else:
        shown = suffix or "(no suffix)"
        raise OutputError(
            f"{path}: unknown mesh format {shown!r}; use one of {', '.join(MESH_SUFFIXES)}"
        )
