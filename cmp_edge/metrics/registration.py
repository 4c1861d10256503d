"""Registration of a predicted mesh onto a reference, and the point-based error.

What is aligned, and how:

- The **prediction is moved onto the reference**; the reference stays in its own
  frame and unit (mm for cmp-edge's face models), so errors are in the
  reference's unit.
- **Shared topology** (same vertex count, vertex ``i`` is the same point of the
  face): orthogonal Procrustes over corresponding vertices (optionally only the
  face's vertices): rotation + translation (``scale=False``, a rigid motion) or
  rotation + translation + one isotropic scale (``scale=True``, a similarity),
  never a reflection (:func:`procrustes`: the rotation from
  :func:`trimesh.registration.procrustes`, the least-squares scale of Umeyama).
  The error of vertex ``i`` is ``|A(p_i) - r_i|``.
- **Different topology** (a scan, another face model): iterative closest point
  (:func:`icp`) from a landmark initialisation (Procrustes of corresponding
  landmark points, e.g. 68 ibug points on both meshes; without landmarks the
  centroids are matched and the two meshes are assumed to share orientation).
  Each iteration finds, for every prediction vertex, the closest point on the
  reference *surface* (its triangles, :func:`closest_points`), keeps the
  ``1 - trim`` fraction of nearest pairs (trimmed ICP: the rest are treated as
  outliers, e.g. parts of the head the other mesh lacks), and solves Procrustes
  on those pairs. The error of vertex ``i`` is its point-to-surface distance
  after the last iteration; the statistics use the kept (inlier) vertices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cmp_edge.metrics.surface import F64, closest_points, points3

__all__ = [
    "IcpResult",
    "PointError",
    "Similarity",
    "icp",
    "point_error",
    "procrustes",
]


@dataclass(frozen=True)
class Similarity:
    """A similarity transform ``x -> scale * rotation @ x + translation``.

    Attributes:
        rotation: (3, 3) float64 proper rotation (det +1).
        translation: (3,) float64, in the target's unit.
        scale: isotropic factor (1.0 for a rigid motion).
    """

    rotation: F64 = field(default_factory=lambda: np.eye(3))
    translation: F64 = field(default_factory=lambda: np.zeros(3))
    scale: float = 1.0

    def apply(self, points: npt.ArrayLike) -> F64:
        """Transform (N, 3) points; returns (N, 3) float64."""
        p = np.asarray(points, dtype=np.float64)
        return np.asarray(self.scale * p @ self.rotation.T + self.translation)

    def then(self, other: Similarity) -> Similarity:
        """The transform applying ``self`` first, then ``other``."""
        return Similarity(
            other.rotation @ self.rotation,
            other.scale * other.rotation @ self.translation + other.translation,
            other.scale * self.scale,
        )

    @property
    def matrix(self) -> F64:
        """(4, 4) homogeneous matrix."""
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        return m

    @classmethod
    def from_matrix(cls, matrix: npt.ArrayLike) -> Similarity:
        """Split a (4, 4) similarity matrix into rotation, translation and scale."""
        m = np.asarray(matrix, dtype=np.float64)
        linear = m[:3, :3]
        scale = float(np.cbrt(np.linalg.det(linear)))
        return cls(linear / scale, m[:3, 3].copy(), scale)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: rotation (3x3 list), translation, scale."""
        return {
            "rotation": self.rotation.tolist(),
            "translation": self.translation.tolist(),
            "scale": float(self.scale),
        }


def procrustes(
    source: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    scale: bool = False,
    weights: npt.ArrayLike | None = None,
) -> Similarity:
    """The least-squares rigid (or similarity) transform taking ``source`` onto ``target``.

    Minimises ``sum_i w_i |A(source_i) - target_i|^2`` over rotations (no
    reflection), translations and, with ``scale``, one isotropic scale. The
    rotation is :func:`trimesh.registration.procrustes`'s (Kabsch, by SVD; it
    does not depend on the scale); the scale is the least-squares one for that
    rotation (Umeyama 1991), ``s = sum w (R a_c) . b_c / sum w |a_c|^2`` over the
    centred points, not trimesh's ratio of the two point sets' spreads.

    Args:
        source, target: (K, 3) corresponding points, K >= 3 not collinear.
        weights: optional (K,) non-negative weights.

    Raises:
        ValueError: shapes differ, fewer than 3 points, or non-finite values.
    """
    from trimesh.registration import procrustes as tm_procrustes

    a = points3(source, "source")
    b = points3(target, "target")
    if a.shape != b.shape:
        raise ValueError(f"source and target differ in shape: {a.shape} and {b.shape}")
    if len(a) < 3:
        raise ValueError(f"Procrustes needs >= 3 corresponding points, got {len(a)}")
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (len(a),) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"weights must be {len(a)} non-negative values, not all zero")
    rigid = Similarity.from_matrix(
        tm_procrustes(a, b, weights=w, reflection=False, translation=True, scale=False,
                      return_cost=False)
    )  # fmt: skip
    if not scale:
        return rigid
    # least-squares scale for that rotation (Umeyama 1991): s = sum w (R a_c).b_c / sum w |a_c|^2
    wn = w / w.sum()
    ac = a - wn @ a
    bc = b - wn @ b
    denom = float(np.sum(wn[:, None] * ac * ac))
    if not denom > 0:
        raise ValueError("source points coincide: no scale can be fitted")
    s = float(np.sum(wn[:, None] * (ac @ rigid.rotation.T) * bc)) / denom
    return Similarity(rigid.rotation, wn @ b - s * rigid.rotation @ (wn @ a), s)


@dataclass(frozen=True)
class PointError:
    """Point-based error after alignment.

    Attributes:
        mean, median, rms: statistics of ``per_vertex`` over the used vertices
            (``used``), in the reference's unit (mm).
        per_vertex: (N,) float64 distance of every prediction vertex after alignment.
        used: (N,) bool, the vertices the statistics (and the fit) use.
        alignment: the transform applied to the prediction.
        method: "procrustes" or "icp".
        scaled: whether the alignment fitted a scale.
    """

    mean: float
    median: float
    rms: float
    per_vertex: F64
    used: npt.NDArray[np.bool_]
    alignment: Similarity
    method: str
    scaled: bool

    @classmethod
    def from_distances(
        cls,
        distances: F64,
        used: npt.NDArray[np.bool_],
        alignment: Similarity,
        method: str,
        scaled: bool,
    ) -> PointError:
        """Statistics of ``distances[used]``."""
        d = distances[used]
        return cls(
            float(d.mean()),
            float(np.median(d)),
            math.sqrt(float(np.mean(d * d))),
            distances,
            used,
            alignment,
            method,
            scaled,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-vertex arrays)."""
        return {
            "mean": self.mean,
            "median": self.median,
            "rms": self.rms,
            "vertices": int(self.used.sum()),
            "method": self.method,
            "scaled": self.scaled,
            "alignment": self.alignment.to_dict(),
        }


def _mask(mask: npt.ArrayLike | None, n: int) -> npt.NDArray[np.bool_]:
    if mask is None:
        return np.ones(n, dtype=bool)
    m = np.asarray(mask)
    if m.dtype == np.bool_:
        if m.shape != (n,):
            raise ValueError(f"mask must have shape ({n},), got {m.shape}")
        return m.copy()
    out = np.zeros(n, dtype=bool)
    idx = m.reshape(-1)
    if idx.size and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"mask indices must be integers in [0, {n})")
    out[idx] = True
    return out


def point_error(
    pred: npt.ArrayLike,
    ref: npt.ArrayLike,
    *,
    scale: bool = False,
    mask: npt.ArrayLike | None = None,
) -> PointError:
    """Point-to-point error of two meshes of one topology after Procrustes alignment.

    Args:
        pred, ref: (N, 3) vertices; vertex ``i`` of both is the same face point.
        scale: fit an isotropic scale too (similarity), else rigid.
        mask: (N,) bool or vertex indices: the vertices aligned and measured
            (e.g. the face's regions); default all.

    Returns:
        :class:`PointError` (method "procrustes"); ``per_vertex`` covers all N.

    Raises:
        ValueError: shapes differ, non-finite values, or fewer than 3 masked vertices.
    """
    p = points3(pred, "pred")
    r = points3(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred and ref differ in shape: {p.shape} and {r.shape}")
    used = _mask(mask, len(p))
    fit = procrustes(p[used], r[used], scale=scale)
    dist = np.linalg.norm(fit.apply(p) - r, axis=1)
    return PointError.from_distances(dist, used, fit, "procrustes", scale)


def _face_normals(vertices: F64, triangles: npt.ArrayLike, faces: npt.NDArray[np.int64]) -> F64:
    t = np.asarray(triangles)[faces]
    n = np.cross(vertices[t[:, 1]] - vertices[t[:, 0]], vertices[t[:, 2]] - vertices[t[:, 0]])
    return np.asarray(n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300))


def _rotation(omega: F64) -> F64:
    """Rotation matrix of the rotation vector ``omega`` (Rodrigues)."""
    angle = float(np.linalg.norm(omega))
    if angle < 1e-15:
        return np.eye(3)
    k = omega / angle
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * kx + (1.0 - math.cos(angle)) * kx @ kx


def _plane_step(points: F64, targets: F64, normals: F64, scale: bool) -> Similarity:
    """One linearised point-to-plane step (Low 2004): the small rotation omega,
    translation t (and scale 1 + s) minimising sum (n . (x + omega x x + s x + t - c))^2,
    about the points' centroid for conditioning; rotation re-orthonormalised."""
    centre = points.mean(axis=0)
    x = points - centre
    c = targets - centre
    cols = [np.cross(x, normals), normals]
    if scale:
        cols.append(np.sum(normals * x, axis=1, keepdims=True))
    a = np.concatenate(cols, axis=1)
    b = np.sum(normals * (c - x), axis=1)
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    rot = _rotation(sol[:3])
    s = 1.0 + float(sol[6]) if scale else 1.0
    # x -> s R (x - centre) + centre + t
    return Similarity(rot, centre + sol[3:6] - s * rot @ centre, s)


@dataclass(frozen=True)
class IcpResult:
    """Result of :func:`icp`.

    Attributes:
        error: the point-to-surface :class:`PointError` after the last iteration
            (method "icp"; ``used`` marks the inliers kept by trimming).
        iterations: iterations run.
        converged: whether the trimmed mean distance stopped improving (by the
            tolerance) before ``max_iterations``.
    """

    error: PointError
    iterations: int
    converged: bool


def icp(
    source: npt.ArrayLike,
    ref_vertices: npt.ArrayLike,
    ref_triangles: npt.ArrayLike,
    *,
    initial: Similarity | None = None,
    scale: bool = False,
    trim: float = 0.1,
    max_iterations: int = 30,
    tolerance: float = 1e-3,
    mask: npt.ArrayLike | None = None,
    max_points: int = 5000,
) -> IcpResult:
    """Trimmed point-to-surface iterative closest point of ``source`` onto a reference mesh.

    Args:
        source: (N, 3) points to move (the prediction's vertices).
        ref_vertices, ref_triangles: the reference surface, (M, 3) and (F, 3).
        initial: the starting transform (e.g. Procrustes of landmarks); default:
            the translation that matches the centroids.
        scale: fit an isotropic scale at each step, else rigid.
        trim: fraction of the farthest pairs ignored at each step (0 <= trim < 0.9).
        max_iterations: at most this many iterations (>= 1).
        tolerance: stop when the trimmed mean distance improves by less than
            this fraction of itself in one iteration (or is ~0).
        mask: (N,) bool or indices: the source points used (default all).
        max_points: the iterations fit at most this many of the used points (a
            fixed, evenly spread subset: every k-th); the final distances and
            statistics cover all used points.

    Raises:
        ValueError: bad shapes or arguments.
    """
    src = points3(source, "source")
    rv = points3(ref_vertices, "ref_vertices")
    if not 0.0 <= trim < 0.9:
        raise ValueError(f"trim must be in [0, 0.9), got {trim}")
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be >= 1, got {max_iterations}")
    used = _mask(mask, len(src))
    if used.sum() < 3:
        raise ValueError("ICP needs at least 3 source points")
    if initial is None:
        initial = Similarity(translation=rv.mean(axis=0) - src[used].mean(axis=0))
    tri = np.asarray(ref_triangles)
    fit_idx = np.flatnonzero(used)
    if max_points >= 3 and len(fit_idx) > max_points:
        fit_idx = fit_idx[:: -(-len(fit_idx) // max_points)]
    diag = float(np.linalg.norm(np.ptp(rv, axis=0)))
    current = initial
    converged = False
    iterations = 0
    previous = math.inf
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported
        moved = current.apply(src[fit_idx])
        target, dist, face = closest_points(moved, rv, tri)
        keep = dist <= np.quantile(dist, 1.0 - trim) if trim > 0 else np.ones(len(dist), bool)
        err = float(dist[keep].mean())
        if err <= 1e-12 * diag or (
            math.isfinite(previous) and previous - err <= tolerance * previous
        ):
            converged = True
            break
        previous = err
        step = _plane_step(moved[keep], target[keep], _face_normals(rv, tri, face[keep]), scale)
        current = current.then(step)
    _, dist_all, _ = closest_points(current.apply(src), rv, tri)
    inliers = used.copy()
    if trim > 0:
        cut = np.quantile(dist_all[used], 1.0 - trim)
        inliers &= dist_all <= cut
    error = PointError.from_distances(dist_all, inliers, current, "icp", scale)
    return IcpResult(error, iterations, converged)
