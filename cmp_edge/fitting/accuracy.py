"""Accuracy of :func:`fit_landmarks` on synthetic faces: ``python -m cmp_edge.fitting.accuracy``.

Random identities (shape coefficients from the model's prior), expressions (0.7 times
the prior's std) and poses (yaw
+-45, pitch +-15, roll +-10 degrees) of a face model, projected ibug landmarks
(jaw points on the outline) plus Gaussian pixel noise, optionally with outliers
(landmarks moved 20-50 pixels in a random direction). Errors are whole-head vertex
RMSEs up to centroid and size (:func:`scaled_vertex_rmse`), in model units.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cmp_edge.fitting.camera import euler_rotation
from cmp_edge.fitting.fit import fit_landmarks
from cmp_edge.fitting.synthetic import project_landmarks, scaled_vertex_rmse

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.facemodel.model import FaceModel

__all__ = ["Trial", "run_trials"]

IMAGE = (640, 480)
SCALE = 2.0  # pixels per model unit: a 180 mm head is 360 pixels tall


@dataclass(frozen=True)
class Trial:
    """Errors of one synthetic identity (model units; reprojection in pixels)."""

    mean_face: float
    one_image: float
    five_images: float
    rms_px_one: float
    rms_px_five: float
    yaw_error_deg: float


def synthetic_views(
    fm: FaceModel,
    rng: np.random.Generator,
    shape: np.ndarray,
    n: int,
    noise_px: float,
    outliers: int = 0,
    expr_scale: float = 0.7,
) -> tuple[np.ndarray, np.ndarray]:
    """(n, 68, 2) noisy landmarks of ``shape`` in n random poses and expressions, and the
    (n, 3, 3) rotations."""
    pts, rots = [], []
    for _ in range(n):
        r = euler_rotation(rng.uniform(-45, 45), rng.uniform(-15, 15), rng.uniform(-10, 10))
        expr = rng.normal(size=fm.n_expr) * expr_scale * fm.expr_std
        t = np.array([IMAGE[0] / 2, IMAGE[1] / 2, 0.0]) + np.append(rng.normal(0, 10, 2), 0)
        p = project_landmarks(fm, shape, expr, r, SCALE, t, IMAGE)
        p = p + rng.normal(0.0, noise_px, p.shape)
        if outliers:
            k = rng.choice(68, outliers, replace=False)
            ang = rng.uniform(0, 2 * np.pi, outliers)
            step = rng.uniform(20, 50, outliers)
            p[k] += np.stack([np.cos(ang), np.sin(ang)], axis=1) * step[:, None]
        pts.append(p)
        rots.append(r)
    return np.stack(pts), np.stack(rots)


def run_trials(
    fm: FaceModel,
    n_trials: int,
    *,
    seed: int = 0,
    noise_px: float = 1.0,
    outliers: int = 0,
    robust: bool = True,
    expr_scale: float = 0.7,
) -> list[Trial]:
    """Fit 1 and 5 synthetic views of ``n_trials`` random identities."""
    landmark_std = noise_px / SCALE / _eye_width(fm)
    out = []
    for trial in range(n_trials):
        # the same identities and poses whatever the outliers and options
        shape = np.random.default_rng([seed, trial]).normal(size=fm.n_shape) * fm.shape_std
        rng = np.random.default_rng([seed, trial, 1])
        truth = fm.reconstruct(shape)
        pts, rots = synthetic_views(fm, rng, shape, 5, noise_px, outliers, expr_scale)
        kw = {"landmark_std": landmark_std, "robust": robust}
        one = fit_landmarks(fm, pts[0], IMAGE, **kw)  # type: ignore[arg-type]
        five = fit_landmarks(fm, pts, IMAGE, **kw)  # type: ignore[arg-type]
        cos = (np.trace(one.rotation[0].T @ rots[0]) - 1) / 2
        out.append(
            Trial(
                scaled_vertex_rmse(fm.mean, truth),
                scaled_vertex_rmse(fm.reconstruct(one.shape), truth),
                scaled_vertex_rmse(fm.reconstruct(five.shape), truth),
                float(one.rms_px[0]),
                float(np.mean(five.rms_px)),
                float(np.degrees(np.arccos(np.clip(cos, -1, 1)))),
            )
        )
    return out


def _eye_width(fm: FaceModel) -> float:
    a, b = fm.landmarks["ibug_36"], fm.landmarks["ibug_45"]
    return float(np.linalg.norm(fm.mean[a] - fm.mean[b]))


def main(argv: Sequence[str] | None = None) -> int:
    """Print the accuracy table (Markdown) for the default or a given face model."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--face-model", default="default", help="face model file or 'default'")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--noise", type=float, default=1.0, help="landmark noise std, pixels")
    args = p.parse_args(argv)
    from cmp_edge.facemodel.model import FaceModel

    fm = FaceModel.default() if args.face_model == "default" else FaceModel.load(args.face_model)
    print(f"{fm.id}: {args.trials} identities, noise {args.noise} px, {SCALE} px per unit")
    print("| landmarks | mean face | 1 image | 5 images | rms px (1 / 5) | rotation error deg |")
    print("|---|---|---|---|---|---|")
    for label, outl, robust in (
        ("clean", 0, True),
        ("5 outliers / image", 5, True),
        ("5 outliers, robust off", 5, False),
    ):
        t = run_trials(fm, args.trials, noise_px=args.noise, outliers=outl, robust=robust)
        col = {f: float(np.mean([getattr(x, f) for x in t])) for f in Trial.__dataclass_fields__}
        print(
            f"| {label} | {col['mean_face']:.2f} | {col['one_image']:.2f} | "
            f"{col['five_images']:.2f} | {col['rms_px_one']:.2f} / {col['rms_px_five']:.2f} | "
            f"{col['yaw_error_deg']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
