"""Jawline contour correspondences: ibug jaw points lie on the face's outline.

A detector places the ibug-68 jaw points (0-16) on the visible outline of the face.
When the face is turned, the outline on the side it turns to is no longer the jaw
line of the mesh but a curve further forward on the cheek (self-occlusion). As in
landmark marching (Zhu et al., CVPR 2015; the 300W-LP construction) each jaw point
gets a set of candidate vertices: the vertices at its height on the same side of the
face, from the jaw point forward to the cheek. For a pose, the candidate that lies
furthest out in the image (along the projected side direction) is the vertex that
forms the outline, and that vertex is used for the point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["JAW_POINTS", "contour_candidates", "select_contour"]

JAW_POINTS: tuple[int, ...] = tuple(k for k in range(17) if k != 8)
"""ibug indices treated as contour points (the chin, 8, stays fixed)."""


def contour_candidates(
    mean: np.ndarray,
    landmark_vertices: np.ndarray,
    points: Sequence[int] = JAW_POINTS,
    *,
    max_candidates: int = 64,
) -> list[np.ndarray]:
    """Candidate vertex indices for each of ``points`` (ibug indices, the jaw by default).

    Args:
        mean: (N, 3) model mean shape (y up, +z out of the face, +x the viewer's right).
        landmark_vertices: (68,) vertex index of each ibug point in ``mean``.
        max_candidates: at most this many vertices per point (evenly spaced in z).

    Returns:
        One int64 array per point; its first entry is the point's own vertex.
    """
    v = np.asarray(mean, dtype=np.float64)
    lm = np.asarray(landmark_vertices, dtype=np.int64)
    eye_width = float(np.linalg.norm(v[lm[45]] - v[lm[36]]))
    band = 0.04 * eye_width
    bin_width = 0.01 * eye_width
    out: list[np.ndarray] = []
    for k in points:
        p = v[lm[k]]
        side = 1.0 if p[0] >= 0 else -1.0
        lateral = side * v[:, 0]
        mask = (
            (np.abs(v[:, 1] - p[1]) < band)
            & (v[:, 2] > p[2])
            & (lateral <= side * p[0] + band)
            & (lateral >= 0.35 * abs(p[0]))
        )
        idx = np.flatnonzero(mask)
        # one vertex per depth bin, the one nearest the jaw point's height: a thin curve
        bins = np.floor((v[idx, 2] - p[2]) / bin_width).astype(np.int64)
        order = np.lexsort((np.abs(v[idx, 1] - p[1]), bins))
        idx, bins = idx[order], bins[order]
        idx = idx[np.concatenate([[True], bins[1:] != bins[:-1]])] if idx.size else idx
        if idx.size > max_candidates:
            idx = idx[np.linspace(0, idx.size - 1, max_candidates).round().astype(np.int64)]
        idx = idx[idx != lm[k]]
        out.append(np.concatenate([[lm[k]], idx]).astype(np.int64))
    return out


def select_contour(
    candidate_points: list[np.ndarray], sides: np.ndarray, rotation: np.ndarray
) -> np.ndarray:
    """Index (into each candidate list) of the outline vertex for a rotation.

    Args:
        candidate_points: per jaw point, (C_k, 3) current model positions of its candidates.
        sides: (len(JAW_POINTS),) +1 or -1, the model-x side of each jaw point.
        rotation: (3, 3) model-to-camera rotation.

    Returns:
        (len(JAW_POINTS),) int64 positions in the candidate lists.
    """
    r2 = np.asarray(rotation, dtype=np.float64)[:2]
    out = np.zeros(len(candidate_points), dtype=np.int64)
    for j, pts in enumerate(candidate_points):
        outward = r2 @ np.array([sides[j], 0.0, 0.0])
        norm = float(np.linalg.norm(outward))
        if norm < 1e-6:
            continue
        out[j] = int(np.argmax((pts @ r2.T) @ (outward / norm)))
    return out
