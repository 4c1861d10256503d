"""Pose arguments of :meth:`FaceModel.reconstruct`, broadcast to a batch."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import CmpEdgeError

__all__ = ["broadcast_pose"]


def broadcast_pose(
    b: int,
    scale: float | npt.ArrayLike,
    rotation: npt.ArrayLike | None,
    translation: npt.ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast the pose arguments to (B,), (B, 3, 3), (B, 3) float32 arrays."""
    s = np.asarray(scale, dtype=np.float32)
    if s.ndim > 1 or (s.ndim == 1 and s.shape[0] not in (1, b)):
        raise CmpEdgeError(f"scale must be a scalar or have {b} values, got shape {s.shape}")
    s_arr = np.ascontiguousarray(np.broadcast_to(s.reshape(-1), (b,)))
    if rotation is None:
        r_arr = np.ascontiguousarray(np.broadcast_to(np.eye(3, dtype=np.float32), (b, 3, 3)))
    else:
        r = np.asarray(rotation, dtype=np.float32)
        if r.shape not in ((3, 3), (b, 3, 3), (1, 3, 3)):
            raise CmpEdgeError(f"rotation must be (3, 3) or ({b}, 3, 3), got {r.shape}")
        r_arr = np.ascontiguousarray(np.broadcast_to(r, (b, 3, 3)))
    if translation is None:
        t_arr = np.zeros((b, 3), dtype=np.float32)
    else:
        t = np.asarray(translation, dtype=np.float32)
        if t.shape not in ((3,), (b, 3), (1, 3)):
            raise CmpEdgeError(f"translation must be (3,) or ({b}, 3), got {t.shape}")
        t_arr = np.ascontiguousarray(np.broadcast_to(t, (b, 3)))
    for name, arr in (("scale", s_arr), ("rotation", r_arr), ("translation", t_arr)):
        if not np.all(np.isfinite(arr)):
            raise CmpEdgeError(f"{name} contains NaN or infinity")
    return s_arr, r_arr, t_arr
