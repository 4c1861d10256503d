"""Compare two meshes: a predicted face against a reference (another prediction, a scan).

:func:`compare_meshes` reports the point-based error rigidly aligned and aligned
with scale (see :mod:`cmp_edge.metrics.registration` for what is aligned and how)
and, given the prediction's facial regions, the error per region.
:func:`load_mesh` reads PLY / OBJ / OFF / STL files with trimesh.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import MeshError
from cmp_edge.facemodel.regions import Regions
from cmp_edge.metrics.regions import region_errors
from cmp_edge.metrics.registration import PointError, Similarity, icp, point_error, procrustes

__all__ = ["MESH_SUFFIXES", "MeshComparison", "compare_meshes", "load_mesh"]

MESH_SUFFIXES = (".ply", ".obj", ".off", ".stl")
"""Mesh files :func:`load_mesh` reads."""

_MAX_FILE_BYTES = 1 << 30
_MAX_VERTICES = 20_000_000


@dataclass(frozen=True)
class MeshComparison:
    """Result of :func:`compare_meshes`.

    Attributes:
        method: "procrustes" (shared topology) or "icp".
        rigid: error after a rigid alignment (rotation + translation), mm.
        scaled: error after a similarity alignment (rotation + translation + scale).
        regions: ``{"rigid": {region: {"mean", "median", "vertices"}}, "scaled": ...}``
            (see :func:`~cmp_edge.metrics.regions.region_errors`), or None without regions.
    """

    method: str
    rigid: PointError
    scaled: PointError
    regions: dict[str, dict[str, dict[str, float]]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "method": self.method,
            "rigid": self.rigid.to_dict(),
            "scaled": self.scaled.to_dict(),
            "regions": self.regions,
        }


def _landmark_points(value: npt.ArrayLike | None, vertices: np.ndarray, name: str) -> np.ndarray:
    if value is None:
        raise ValueError(f"{name} missing")
    arr = np.asarray(value)
    if arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() >= len(vertices)):
            raise IndexError(f"{name}: vertex indices outside [0, {len(vertices)})")
        return np.asarray(vertices[arr], dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 3:
        return np.asarray(arr, dtype=np.float64)
    raise ValueError(f"{name} must be (K,) vertex indices or (K, 3) points, got {arr.shape}")


def compare_meshes(
    pred: npt.ArrayLike,
    ref: npt.ArrayLike,
    *,
    ref_triangles: npt.ArrayLike | None = None,
    pred_landmarks: npt.ArrayLike | None = None,
    ref_landmarks: npt.ArrayLike | None = None,
    regions: Regions | None = None,
    same_topology: bool | None = None,
    trim: float = 0.1,
) -> MeshComparison:
    """Point-based (and region-based) error of a prediction against a reference.

    Shared topology (``same_topology``; default: the vertex counts are equal):
    Procrustes over corresponding vertices. Otherwise trimmed point-to-surface
    ICP onto the reference's triangles, initialised by Procrustes of the
    landmarks when both ``pred_landmarks`` and ``ref_landmarks`` are given (else
    by matching centroids: the meshes must then share orientation).

    Args:
        pred: (N, 3) predicted vertices (the mesh that is moved).
        ref: (M, 3) reference vertices (its frame and unit are kept; mm).
        ref_triangles: (F, 3) reference triangles; needed for ICP.
        pred_landmarks, ref_landmarks: corresponding landmarks of the two meshes,
            each (K,) vertex indices or (K, 3) points, K >= 3.
        regions: facial regions of the prediction's N vertices; the fit and
            the statistics then use the face (the vertices in some region), and
            the result has per-region errors.
        same_topology: force the shared-topology (True) or ICP (False) path.
        trim: ICP's outlier fraction (see :func:`~cmp_edge.metrics.registration.icp`).

    Raises:
        ValueError: bad shapes, a vertex-count mismatch with ``same_topology=True``,
        ICP without ``ref_triangles``, or landmarks of different lengths.
    """
    p = np.asarray(pred, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if regions is not None and regions.n_vertices != len(p):
        raise ValueError(f"regions are for {regions.n_vertices} vertices, pred has {len(p)}")
    mask = regions.face if regions is not None and regions.face.any() else None
    shared = p.shape == r.shape if same_topology is None else same_topology
    if shared:
        if p.shape != r.shape:
            raise ValueError(f"same topology needs equal shapes, got {p.shape} and {r.shape}")
        rigid = point_error(p, r, scale=False, mask=mask)
        scaled = point_error(p, r, scale=True, mask=mask)
        method = "procrustes"
    else:
        if ref_triangles is None:
            raise ValueError("meshes of different topology need ref_triangles (ICP)")
        init_rigid: Similarity | None = None
        init_scaled: Similarity | None = None
        if pred_landmarks is not None or ref_landmarks is not None:
            lp = _landmark_points(pred_landmarks, p, "pred_landmarks")
            lr = _landmark_points(ref_landmarks, r, "ref_landmarks")
            if lp.shape != lr.shape:
                raise ValueError(f"landmarks differ in count: {len(lp)} and {len(lr)}")
            init_rigid = procrustes(lp, lr, scale=False)
            init_scaled = procrustes(lp, lr, scale=True)
        rigid = icp(p, r, ref_triangles, initial=init_rigid, trim=trim, mask=mask).error
        scaled = icp(
            p,
            r,
            ref_triangles,
            initial=init_scaled or rigid.alignment,
            scale=True,
            trim=trim,
            mask=mask,
        ).error
        method = "icp"
    per_region = None
    if regions is not None:
        per_region = {
            "rigid": region_errors(rigid.per_vertex, regions),
            "scaled": region_errors(scaled.per_vertex, regions),
        }
    return MeshComparison(method, rigid, scaled, per_region)


def load_mesh(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh file with trimesh (no processing: vertex order is kept).

    Returns:
        ``(vertices (N, 3) float64, triangles (F, 3) int64)`` in the file's unit.

    Raises:
        MeshError: missing or oversized file, unknown suffix, unreadable content,
            no vertices, or non-finite coordinates.
    """
    p = Path(path)
    if p.suffix.lower() not in MESH_SUFFIXES:
        raise MeshError(f"{p}: unknown mesh suffix; use one of {', '.join(MESH_SUFFIXES)}")
    if not p.is_file():
        raise MeshError(f"{p}: no such file; check the path")
    if p.stat().st_size > _MAX_FILE_BYTES:
        raise MeshError(f"{p}: larger than {_MAX_FILE_BYTES >> 20} MiB; decimate the mesh first")
    import trimesh

    try:
        mesh = trimesh.load(p, force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types on malformed files
        raise MeshError(f"{p}: cannot read the mesh ({type(exc).__name__}: {exc})") from None
    vertices = np.asarray(getattr(mesh, "vertices", np.zeros((0, 3))), dtype=np.float64)
    faces = np.asarray(getattr(mesh, "faces", np.zeros((0, 3))), dtype=np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise MeshError(f"{p}: the file holds no vertices")
    if len(vertices) > _MAX_VERTICES:
        raise MeshError(f"{p}: {len(vertices)} vertices is more than {_MAX_VERTICES}")
    if not np.all(np.isfinite(vertices)):
        raise MeshError(f"{p}: vertex coordinates contain NaN or infinity")
    faces = faces.reshape(-1, 3) if faces.size else np.zeros((0, 3), dtype=np.int64)
    return vertices, faces
