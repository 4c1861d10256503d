"""Test meshes for the metrics tests."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def rotation(rotvec: list[float]) -> np.ndarray:
    """(3, 3) rotation of a rotation vector (radians), by SciPy."""
    return np.asarray(Rotation.from_rotvec(rotvec).as_matrix())


def face_grid(step: int) -> tuple[np.ndarray, np.ndarray]:
    """The default face model's mean on every ``step``-th row and column of its grid.

    The default model is a (196, 256) elevation x azimuth grid (see
    cmp_edge.facemodel.default); a sub-grid with ``step`` dividing 196 - 1 and
    256 - 1 evenly would share the border, here it keeps rows 0, step, ...
    Returns (vertices (R*C, 3) float64 mm, triangles (F, 3)).
    """
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.facemodel.default import _N_PHI, _N_THETA, _grid_triangles

    mean = np.asarray(FaceModel.default().mean, dtype=np.float64).reshape(_N_PHI, _N_THETA, 3)
    # the front half only (azimuth within +-60 degrees of the nose): a face, not a head
    cols = np.arange(_N_THETA)
    front = cols[np.abs(cols - (_N_THETA - 1) / 2) <= 0.26 * _N_THETA]
    g = mean[::step][:, front[::step]]
    return g.reshape(-1, 3), _grid_triangles(g.shape[0], g.shape[1])
