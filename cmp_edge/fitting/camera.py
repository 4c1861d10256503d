"""Scaled orthographic camera: ``p = scale * R[:2] @ v + t``, estimated from 2D-3D pairs."""

from __future__ import annotations

import numpy as np

__all__ = ["estimate_pose", "euler_rotation", "project", "rotation_angles"]


def estimate_pose(
    model_points: np.ndarray,
    image_points: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    refine: bool = True,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Weighted scaled orthographic pose from point pairs (the "gold standard" affine fit).

    An affine camera (2, 4) is fitted by weighted linear least squares, its 2x3 part is
    replaced by the nearest matrix with orthonormal rows (SVD), the third row completes a
    right-handed rotation, and scale and translation are re-estimated for that rotation.

    Args:
        model_points: (K, 3) float64 model coordinates (K >= 4, not all coplanar
            for a unique rotation).
        image_points: (K, 2) float64 image coordinates (any units; x right, y up).
        weights: (K,) non-negative weights, or None for all ones.
        refine: finish with Gauss-Newton steps on the reprojection error (the
            projected affine solution is close to, but not, the least-squares pose).

    Returns:
        rotation (3, 3) float64 with det +1, scale (> 0, image units per model unit),
        translation (2,) in image units.
    """
    v = np.asarray(model_points, dtype=np.float64)
    x = np.asarray(image_points, dtype=np.float64)
    w = np.ones(len(v)) if weights is None else np.asarray(weights, dtype=np.float64)
    sw = np.sqrt(np.maximum(w, 0.0))[:, None]
    a = np.concatenate([v, np.ones((len(v), 1))], axis=1) * sw
    affine, *_ = np.linalg.lstsq(a, x * sw, rcond=None)  # (4, 2)
    m = affine[:3].T  # (2, 3)
    u, _, vt = np.linalg.svd(m, full_matrices=False)
    r2 = u @ vt  # (2, 3), orthonormal rows
    rotation = np.vstack([r2, np.cross(r2[0], r2[1])])
    scale, t = _scale_translation(v, x, w, rotation)
    return _refine(v, x, w, rotation, scale, t) if refine else (rotation, scale, t)


def _skew(a: np.ndarray) -> np.ndarray:
    """(K, 3) vectors -> (K, 3, 3) cross-product matrices."""
    z = np.zeros(len(a))
    return np.stack(
        [
            np.stack([z, -a[:, 2], a[:, 1]], axis=1),
            np.stack([a[:, 2], z, -a[:, 0]], axis=1),
            np.stack([-a[:, 1], a[:, 0], z], axis=1),
        ],
        axis=1,
    )


def _rodrigues(w: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(w))
    if theta < 1e-12:
        return np.eye(3)
    a = w / theta
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * (k @ k)


def _refine(
    v: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    rotation: np.ndarray,
    scale: float,
    t: np.ndarray,
    steps: int = 3,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Gauss-Newton on the scaled orthographic reprojection error (rotation as
    ``R @ exp([w]x)``): the affine solution projected onto rotations is close but not
    the least-squares pose."""
    sw = np.sqrt(np.maximum(w, 0.0))
    skew_v = _skew(v)
    j_t = np.broadcast_to(np.eye(2), (len(v), 2, 2))
    for _ in range(steps):
        r2 = rotation[:2]
        resid = x - (scale * v @ r2.T + t)  # (K, 2)
        j_w = -scale * np.einsum("ab,kbc->kac", r2, skew_v)  # (K, 2, 3)
        j_s = (v @ r2.T)[:, :, None]  # (K, 2, 1)
        jac = np.concatenate([j_w, j_s, j_t], axis=2) * sw[:, None, None]
        delta, *_ = np.linalg.lstsq(
            jac.reshape(-1, 6), (resid * sw[:, None]).reshape(-1), rcond=None
        )
        rotation = rotation @ _rodrigues(delta[:3])
        scale = max(scale + float(delta[3]), 1e-9)
        t = t + delta[4:]
        if np.abs(delta).max() < 1e-10:
            break
    return rotation, scale, t


def _scale_translation(
    v: np.ndarray, x: np.ndarray, w: np.ndarray, rotation: np.ndarray
) -> tuple[float, np.ndarray]:
    """Weighted least-squares scale and translation for a fixed rotation."""
    q = v @ rotation[:2].T  # (K, 2)
    ws = float(np.sum(w))
    qm = (w[:, None] * q).sum(0) / ws
    xm = (w[:, None] * x).sum(0) / ws
    qc, xc = q - qm, x - xm
    den = float(np.sum(w[:, None] * qc * qc))
    scale = float(np.sum(w[:, None] * qc * xc)) / den if den > 0 else 1.0
    scale = max(scale, 1e-9)
    return scale, xm - scale * qm


def project(vertices: np.ndarray, rotation: np.ndarray, scale: float, t: np.ndarray) -> np.ndarray:
    """(K, 3) model points -> (K, 2) image points (y up) under a scaled orthographic pose."""
    return scale * (vertices @ rotation[:2].T) + t[:2]


def rotation_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of ``R = Rz(roll) @ Rx(pitch) @ Ry(yaw)``.

    Yaw turns about the model's y axis (positive: the nose moves to +x, the image
    right), pitch about x, roll about the viewing axis z.
    """
    r = np.asarray(rotation, dtype=np.float64)
    pitch = np.arcsin(np.clip(r[2, 1], -1.0, 1.0))
    yaw = np.arctan2(-r[2, 0], r[2, 2])
    roll = np.arctan2(-r[0, 1], r[1, 1])
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def euler_rotation(yaw: float, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """(3, 3) float64 ``Rz(roll) @ Rx(pitch) @ Ry(yaw)`` from angles in degrees."""
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry
