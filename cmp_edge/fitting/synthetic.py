"""Synthetic landmarks of a known face (for tests, benchmarks and synthetic corpora)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cmp_edge.fitting.contour import JAW_POINTS, contour_candidates, select_contour
from cmp_edge.fitting.fit import ibug_vertices

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.facemodel.model import FaceModel

__all__ = ["project_landmarks", "scaled_vertex_rmse"]


def project_landmarks(
    face_model: FaceModel,
    shape: npt.ArrayLike,
    expr: npt.ArrayLike | None,
    rotation: npt.ArrayLike,
    scale: float,
    translation: npt.ArrayLike,
    image_size: tuple[int, int],
    *,
    contour: bool = True,
) -> np.ndarray:
    """ibug-68 landmarks of a face as a detector would report them.

    The pose is that of :class:`~cmp_edge.fitting.fit.FitResult` (``p = scale *
    rotation @ v + translation``, pixels, y up from the bottom edge); the result is in
    image pixels, x right, y down. With ``contour`` the jaw points (but the chin) are
    the outline vertices at their height (:mod:`cmp_edge.fitting.contour`).

    Returns:
        (68, 2) float64 pixels; NaN for points the model does not define.
    """
    verts = np.asarray(face_model.reconstruct(shape, expr), dtype=np.float64)
    lm = ibug_vertices(face_model)
    present = lm >= 0
    idx = np.where(present, lm, 0)
    r = np.asarray(rotation, dtype=np.float64)
    jaw = [k for k in JAW_POINTS if present[k]]
    if contour and jaw:
        cands = contour_candidates(np.asarray(face_model.mean), idx, jaw)
        sides = np.array([1.0 if face_model.mean[lm[k], 0] >= 0 else -1.0 for k in jaw])
        sel = select_contour([verts[c] for c in cands], sides, r)
        for j, k in enumerate(jaw):
            idx[k] = cands[j][sel[j]]
    t = np.asarray(translation, dtype=np.float64).reshape(-1)[:2]
    p = float(scale) * verts[idx] @ r[:2].T + t
    p[:, 1] = image_size[1] - p[:, 1]
    p[~present] = np.nan
    return p


def scaled_vertex_rmse(pred: npt.ArrayLike, ref: npt.ArrayLike) -> float:
    """Root-mean-square vertex distance after centring and the best uniform scale.

    A photo does not show a face's absolute size (the camera's scale absorbs it), so
    meshes from landmark fits are compared up to centroid and size, in ``ref``'s units.

    Args:
        pred, ref: (N, 3) vertices of the same topology.
    """
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    a = a - a.mean(0)
    b = b - b.mean(0)
    s = float(np.sum(a * b) / np.sum(a * a))
    return float(np.sqrt(np.mean(np.sum((s * a - b) ** 2, axis=1))))
