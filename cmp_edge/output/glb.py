"""glTF 2.0 binary (``.glb``) meshes, the format of web viewers, game engines and AR.

The file is written by trimesh's glTF exporter (one mesh, one node, one
scene). glTF's unit is the metre with +y up (glTF 2.0 specification, section
3.4 "Coordinate System and Units"), so coordinates are converted from the face
model's units (mm for cmp-edge's models: divided by 1000); the face model's
axes (y up, +z out of the face) are already glTF's. Each file holds:

- ``POSITION`` (N, 3) float32 in metres and ``NORMAL`` (N, 3) float32 unit
  per-vertex normals (area-weighted, so viewers shade the head smoothly);
- the triangles as 0-based uint32 ``indices``;
- optional ``COLOR_0`` per-vertex RGBA colours;
- a matte skin-tone PBR material (metallic 0, roughness 0.8) when there are no
  per-vertex colours.
"""

from __future__ import annotations

import os
from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.atomic import write_chunks
from cmp_edge.output.meshcheck import check_mesh, vertex_colors

__all__ = ["GLB_MAGIC", "UNIT_METRES", "glb_bytes", "write_glb"]

GLB_MAGIC: Final = b"glTF"
"""The first four bytes of every glTF binary file (glTF 2.0 specification, 4.4.3)."""

UNIT_METRES: Final = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6}
"""Metres per face-model unit, for the conversion to glTF's metres."""

_SKIN_RGBA: Final = (0.87, 0.72, 0.63, 1.0)


def glb_bytes(
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    colors: npt.ArrayLike | None = None,
    *,
    units: str = "mm",
) -> bytes:
    """Encode a triangle mesh as a glTF 2.0 binary file.

    Args:
        vertices: (N, 3) positions in ``units`` (x, y, z; y up, +z towards the viewer).
        triangles: (F, 3) 0-based vertex indices.
        colors: optional (N, 3) uint8 RGB or float RGB in [0, 1].
        units: the unit of ``vertices``: "mm" (default), "cm", "m" or "um";
            the file is in metres.

    Returns:
        The ``.glb`` bytes (starting with ``b"glTF"``).

    Raises:
        ValueError: bad shapes, non-finite vertices, bad colours or an unknown unit.
        IndexError: a triangle index outside [0, N).
    """
    import trimesh
    from trimesh.visual import ColorVisuals, TextureVisuals
    from trimesh.visual.material import PBRMaterial

    if units not in UNIT_METRES:
        raise ValueError(f"units {units!r} is unknown; use one of {', '.join(UNIT_METRES)}")
    verts, tris = check_mesh(vertices, triangles)
    cols = vertex_colors(colors, len(verts))
    metres = (verts.astype(np.float64) * UNIT_METRES[units]).astype(np.float32)
    mesh = trimesh.Trimesh(metres, tris, process=False, validate=False)
    if cols is not None:
        rgba = np.concatenate([cols, np.full((len(cols), 1), 255, np.uint8)], axis=1)
        mesh.visual = ColorVisuals(mesh, vertex_colors=rgba)
    else:
        material = PBRMaterial(
            name="skin",
            baseColorFactor=list(_SKIN_RGBA),
            metallicFactor=0.0,
            roughnessFactor=0.8,
            doubleSided=True,
        )
        mesh.visual = TextureVisuals(material=material)
    data = mesh.export(file_type="glb", include_normals=True)
    if not isinstance(data, bytes):  # pragma: no cover - trimesh returns bytes for glb
        raise TypeError(f"trimesh returned {type(data).__name__} for a .glb export")
    return data


def write_glb(
    path: str | os.PathLike[str],
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    colors: npt.ArrayLike | None = None,
    *,
    overwrite: bool = True,
    units: str = "mm",
) -> None:
    """Write a ``.glb`` mesh atomically; arguments as :func:`glb_bytes`.

    Raises:
        ValueError, IndexError: see :func:`glb_bytes`.
        OutputError: the path cannot be written (or exists and ``overwrite`` is False).
    """
    write_chunks(path, (glb_bytes(vertices, triangles, colors, units=units),), overwrite=overwrite)
