"""Test meshes for the metrics tests."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def rotation(rotvec: list[float]) -> np.ndarray:
    """(3, 3) rotation of a rotation vector (radians), by SciPy."""
    return np.asarray(Rotation.from_rotvec(rotvec).as_matrix())


N_PHI, N_THETA = 196, 256
"""Rows (elevation) and columns (azimuth) of the full test grid."""


def grid_triangles(rows: int, cols: int) -> np.ndarray:
    """(2 (rows - 1) (cols - 1), 3) int32 triangles of a row-major rows x cols vertex grid."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (r * cols + c).reshape(-1)
    b, d, e = a + 1, a + cols, a + cols + 1
    return np.concatenate([np.stack([a, d, b], 1), np.stack([b, d, e], 1)]).astype(np.int32)


def head_grid() -> np.ndarray:
    """(N_PHI, N_THETA, 3) float64 mm: a smooth head-like surface (an ellipsoid of
    75 x 100 x 90 mm half-axes with a nose, brow and chin relief), y up, +z out of the
    face, on a regular elevation x azimuth grid; symmetric in x."""
    phi = np.deg2rad(np.linspace(-66.0, 80.0, N_PHI))[:, None]
    theta = np.deg2rad(np.linspace(-115.0, 115.0, N_THETA))[None, :]

    def bump(x: np.ndarray, c: float, w: float) -> np.ndarray:
        return np.exp(-0.5 * ((x - c) / w) ** 2)

    relief = (
        14.0 * bump(theta, 0.0, 0.12) * bump(phi, 0.0, 0.25)  # nose
        + 5.0 * bump(phi, 0.45, 0.12) * bump(theta, 0.0, 0.6)  # brow
        + 4.0 * bump(phi, -0.75, 0.15) * bump(theta, 0.0, 0.4)  # chin
    )
    r = 1.0 + relief / 90.0
    x = 75.0 * r * np.cos(phi) * np.sin(theta)
    y = 100.0 * r * np.sin(phi) * np.ones_like(theta)
    z = 90.0 * r * np.cos(phi) * np.cos(theta)
    return np.stack([x, y, z], axis=-1)


def face_grid(step: int) -> tuple[np.ndarray, np.ndarray]:
    """The front of :func:`head_grid` on every ``step``-th row and column.

    Coarser grids (a multiple of ``step``) keep a subset of the finer grid's
    vertices. Returns (vertices (R*C, 3) float64 mm, triangles (F, 3)).
    """
    mean = head_grid()
    # the front half only (azimuth within +-60 degrees of the nose): a face, not a head
    cols = np.arange(N_THETA)
    front = cols[np.abs(cols - (N_THETA - 1) / 2) <= 0.26 * N_THETA]
    g = mean[::step][:, front[::step]]
    return g.reshape(-1, 3), grid_triangles(g.shape[0], g.shape[1])
