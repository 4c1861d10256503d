"""Closest points on a triangle mesh's surface (the correspondence step of ICP)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["F64", "closest_points", "points3"]

F64 = npt.NDArray[np.float64]


def points3(value: npt.ArrayLike, name: str) -> F64:
    """``value`` as (N, 3) float64 points.

    Raises:
        ValueError: another shape, NaN or infinity.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def _vertex_faces(triangles: npt.NDArray[np.int64], n: int) -> tuple[npt.NDArray[np.int64], ...]:
    """CSR incidence: (offsets (n+1,), face ids) of the faces around each vertex."""
    flat = triangles.reshape(-1)
    order = np.argsort(flat, kind="stable")
    counts = np.bincount(flat, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return offsets, order // 3


def closest_points(
    points: npt.ArrayLike,
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    *,
    k: int = 6,
    chunk: int = 4096,
) -> tuple[F64, F64, npt.NDArray[np.int64]]:
    """Closest points on a triangle mesh's surface, and their distances.

    For each query the candidate triangles are those around its ``k`` nearest
    mesh vertices (SciPy cKDTree); the closest point on each candidate is
    computed exactly (:func:`trimesh.triangles.closest_point`) and the nearest
    kept. This equals the exact surface distance whenever the closest triangle
    has a vertex among the ``k`` nearest, true for the meshes compared here
    (queries near a surface of roughly even triangles); it needs no spatial
    index package, in bounded memory.

    Args:
        points: (Q, 3) queries. vertices: (N, 3). triangles: (F, 3) integer indices.

    Returns:
        ``(closest (Q, 3) float64, distance (Q,) float64, triangle (Q,) int64)``.

    Raises:
        ValueError: wrong shapes, no triangles, or indices outside the mesh.
    """
    from scipy.spatial import cKDTree
    from trimesh.triangles import closest_point as tri_closest

    q = points3(points, "points")
    v = points3(vertices, "vertices")
    t = np.asarray(triangles)
    if t.ndim != 2 or t.shape[1] != 3 or len(t) == 0 or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"triangles must be a non-empty (F, 3) integer array, got {t.shape}")
    if t.min() < 0 or t.max() >= len(v):
        raise ValueError(f"triangles index vertices outside [0, {len(v)})")
    t = t.astype(np.int64)
    used_vertices = np.unique(t)
    tree = cKDTree(v[used_vertices])
    offsets, faces_of = _vertex_faces(t, len(v))
    k = int(min(max(k, 1), len(used_vertices)))
    closest = np.empty_like(q)
    dist = np.empty(len(q))
    face = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        _, near = tree.query(block, k=k)
        near = used_vertices[np.asarray(near).reshape(len(block), k)]
        lo, hi = offsets[near], offsets[near + 1]
        counts = (hi - lo).reshape(-1)
        owner = np.repeat(np.arange(len(block)), counts.reshape(len(block), k).sum(axis=1))
        starts = np.repeat(lo.reshape(-1), counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cand = faces_of[starts + within]
        pair = np.unique(owner * len(t) + cand)  # a face around several near vertices once
        owner, cand = pair // len(t), pair % len(t)
        pts = tri_closest(v[t[cand]], block[owner])
        d2 = np.sum((pts - block[owner]) ** 2, axis=1)
        order = np.lexsort((d2, owner))
        first = order[np.searchsorted(owner[order], np.arange(len(block)))]
        closest[start : start + len(block)] = pts[first]
        dist[start : start + len(block)] = np.sqrt(d2[first])
        face[start : start + len(block)] = cand[first]
    return closest, dist, face
