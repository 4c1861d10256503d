"""fit_landmarks: 3DMM shape, expression and pose from ibug-68 landmarks of one or more images.

The model: a scaled orthographic camera per image, ``p = s_i * R_i[:2] @ v + t_i``
(as 3DDFA and eos use), one identity (shape coefficients) shared by all images and
one expression per image. Pose and coefficients are estimated by alternating linear
least squares: (1) per image, the pose from the current landmark vertices (affine fit
projected onto a scaled rotation); (2) all coefficients at once, a linear least-squares
problem with the Gaussian prior of the model as Tikhonov term. Residuals are measured
in model units (pixels divided by the image's scale) against ``landmark_std`` (the
landmark noise as a fraction of the model's outer-eye-corner distance), so the
balance of data and prior does not depend on the image resolution. Bad landmarks are
down-weighted by iteratively reweighted least squares (Cauchy weights on a robust
residual scale), and the jaw points follow the face's outline when it is turned
(:mod:`cmp_edge.fitting.contour`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import FittingError
from cmp_edge.facemodel.landmarks import IBUG_NAMES
from cmp_edge.fitting.camera import estimate_pose
from cmp_edge.fitting.contour import JAW_POINTS, contour_candidates, select_contour

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.facemodel.model import FaceModel

__all__ = ["FitResult", "fit_landmarks", "ibug_vertices"]

_MIN_POINTS = 10


@dataclass(frozen=True)
class FitResult:
    """The result of :func:`fit_landmarks` for M images of one person.

    Pose convention (as :func:`cmp_edge.output.render.overlay` takes it): model
    vertices ``v`` (model units, y up) map to ``p = scale[i] * rotation[i] @ v +
    translation[i]``, with ``p`` in pixels, x to the right from the left edge and
    **y up from the bottom edge**; the image pixel is ``(p_x, height - p_y)``.

    Attributes:
        shape: (Ks,) float32 shape coefficients in the model's own convention (pass
            to :meth:`FaceModel.reconstruct`; prior N(0, shape_std**2), i.e. N(0, 1)
            for models with whitened bases such as the default model).
        expr: (M, Ke) float32 expression coefficients per image.
        rotation: (M, 3, 3) float64 model-to-camera rotations (det +1).
        translation: (M, 3) float64 pixels (z is 0; orthographic).
        scale: (M,) float64 pixels per model unit.
        rms_px: (M,) float64 root-mean-square reprojection error of the valid
            landmarks, pixels.
        nme: (M,) float64 mean landmark error over the outer-eye-corner distance of
            the fitted face (the usual normalised mean error).
        residuals_px: (M, 68) float64 landmark errors in pixels (NaN where missing).
        weights: (M, 68) float64 robust weights in [0, 1] (0 where missing; small
            for landmarks judged to be outliers).
        fitted_px: (M, 68, 2) float64 fitted landmark positions, image pixels (y down).
        vertex_index: (M, 68) int64 model vertex used for each landmark (jaw points
            move along the outline).
        image_size: (M, 2) int64 (width, height) in pixels.
        iterations: alternation rounds run.
    """

    shape: np.ndarray
    expr: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    scale: np.ndarray
    rms_px: np.ndarray
    nme: np.ndarray
    residuals_px: np.ndarray
    weights: np.ndarray
    fitted_px: np.ndarray
    vertex_index: np.ndarray
    image_size: np.ndarray
    iterations: int

    @property
    def n_images(self) -> int:
        """Number of images M."""
        return int(self.rotation.shape[0])

    def vertices(self, face_model: FaceModel, index: int = 0) -> np.ndarray:
        """(N, 3) float32 model-space mesh of image ``index`` (shape + its expression)."""
        return face_model.reconstruct(self.shape, self.expr[index])

    def neutral_vertices(self, face_model: FaceModel) -> np.ndarray:
        """(N, 3) float32 model-space mesh of the identity with a neutral expression."""
        return face_model.reconstruct(self.shape)


def ibug_vertices(face_model: FaceModel) -> np.ndarray:
    """(68,) int64 vertex index of each ibug landmark of ``face_model``, -1 where the model
    does not define it (e.g. the Surrey Face Model's jaw points).

    Raises:
        FittingError: the model lacks the outer eye corners (ibug 36, 45) or defines
            fewer than 20 of the 68 points.
    """
    idx = np.array([face_model.landmarks.get(n, -1) for n in IBUG_NAMES], dtype=np.int64)
    known = int(np.sum(idx >= 0))
    if known < 20 or idx[36] < 0 or idx[45] < 0:
        raise FittingError(
            f"face model {face_model.id!r} defines {known} of the 68 ibug landmarks "
            "(at least 20, with the outer eye corners ibug_36 and ibug_45, are needed); "
            "use a model with ibug-68 landmarks"
        )
    return idx


def _as_points(
    points: npt.ArrayLike | Sequence[npt.ArrayLike], image_size: object
) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (68, 2) or arr.shape[0] == 0:
        raise FittingError(f"points must be (68, 2) or (M, 68, 2) pixels, got shape {arr.shape}")
    if np.any(np.isinf(arr)):
        raise FittingError("points contain infinity (use NaN for a missing landmark)")
    sizes = np.asarray(image_size, dtype=np.float64)
    if sizes.shape == (2,):
        sizes = np.broadcast_to(sizes, (arr.shape[0], 2))
    if sizes.shape != (arr.shape[0], 2) or not np.all(np.isfinite(sizes)) or np.any(sizes < 1):
        raise FittingError(
            f"image_size must be (width, height) or one per image ({arr.shape[0]}), "
            f"positive pixels; got {np.asarray(image_size).tolist()}"
        )
    for i in range(arr.shape[0]):
        ok = np.all(np.isfinite(arr[i]), axis=1)
        if int(ok.sum()) < _MIN_POINTS:
            raise FittingError(
                f"image {i}: {int(ok.sum())} valid landmarks; at least {_MIN_POINTS} are needed"
            )
    return arr, sizes.astype(np.int64)


class _Problem:
    """The landmark-related rows of the model, whitened (coefficient prior N(0, 1))."""

    def __init__(self, fm: FaceModel, n_shape: int, n_expr: int) -> None:
        lm = ibug_vertices(fm)
        self.present = lm >= 0
        self.lm = np.where(self.present, lm, lm[36])  # missing points get weight 0
        self.jaw = [k for k in JAW_POINTS if self.present[k]]
        cands = contour_candidates(np.asarray(fm.mean), self.lm, self.jaw)
        self.sides = np.array([1.0 if fm.mean[self.lm[k], 0] >= 0 else -1.0 for k in self.jaw])
        verts = np.unique(np.concatenate([self.lm, *cands]))
        self.local = {int(v): i for i, v in enumerate(verts)}
        self.cand_local = [np.array([self.local[int(v)] for v in c]) for c in cands]
        self.cand_global = cands
        rows = (3 * verts[:, None] + np.arange(3)).reshape(-1)
        n = len(verts)
        self.mean = np.asarray(fm.mean, dtype=np.float64)[verts]
        sb = np.asarray(fm.shape_basis[rows, :n_shape], dtype=np.float64)
        eb = np.asarray(fm.expr_basis[rows, :n_expr], dtype=np.float64)
        self.shape_std = np.asarray(fm.shape_std[:n_shape], dtype=np.float64)
        self.expr_std = np.asarray(fm.expr_std[:n_expr], dtype=np.float64)
        self.sb = (sb * self.shape_std).reshape(n, 3, n_shape)
        self.eb = (eb * self.expr_std).reshape(n, 3, n_expr)
        self.eye = float(np.linalg.norm(fm.mean[self.lm[45]] - fm.mean[self.lm[36]]))

    def points(self, c: np.ndarray, e: np.ndarray) -> np.ndarray:
        """(n, 3) current positions of all used vertices."""
        return self.mean + self.sb @ c + self.eb @ e

    def choose(self, pts: np.ndarray, rotation: np.ndarray, contour: bool) -> np.ndarray:
        """(68,) local vertex index used for each landmark."""
        idx = np.array([self.local[int(v)] for v in self.lm])
        if contour:
            sel = select_contour([pts[c] for c in self.cand_local], self.sides, rotation)
            for j, k in enumerate(self.jaw):
                idx[k] = self.cand_local[j][sel[j]]
        return idx


def fit_landmarks(
    face_model: FaceModel,
    points: npt.ArrayLike | Sequence[npt.ArrayLike],
    image_size: tuple[int, int] | Sequence[tuple[int, int]] | npt.ArrayLike,
    *,
    n_shape: int | None = None,
    n_expr: int | None = None,
    landmark_std: float = 0.03,
    expr_prior: float = 1.0,
    iterations: int = 12,
    robust: bool = True,
    contour: bool = True,
) -> FitResult:
    """Fit a 3DMM to ibug-68 landmarks of one image or several images of one person.

    Args:
        face_model: any FaceModel naming the 68 ibug landmarks ("ibug_00".."ibug_67").
        points: (68, 2) pixels (x right, y down, origin at the top-left corner of the
            image) for one image, or (M, 68, 2) / a sequence of (68, 2) for M images
            of one person (one shared identity). NaN marks a missing landmark.
        image_size: (width, height) in pixels, or one per image.
        n_shape, n_expr: leading components to fit (default: all of the model's;
            ``n_expr=0`` fits no expression). Coefficients past them are zero.
        landmark_std: expected landmark error as a fraction of the model's
            outer-eye-corner distance (ibug 36-45); sets the weight of the prior.
            0.03 is typical of detectors (a normalised mean error of about 3 %).
        expr_prior: multiplies the expression prior's weight (> 1 keeps expressions
            nearer neutral).
        iterations: alternation rounds (pose, correspondences, coefficients).
        robust: down-weight outlying landmarks (iteratively reweighted least squares).
        contour: let the jaw points (ibug 0-16 but 8) follow the face's outline.

    Returns:
        A :class:`FitResult` (per-image arrays have a leading M axis, also for one image).

    Raises:
        FittingError: wrong array shapes, fewer than 10 valid landmarks in an image,
            a model without ibug landmarks, bad option values.
    """
    x_down, sizes = _as_points(points, image_size)
    m = x_down.shape[0]
    ks = face_model.n_shape if n_shape is None else int(n_shape)
    ke = face_model.n_expr if n_expr is None else int(n_expr)
    if not (0 <= ks <= face_model.n_shape and 0 <= ke <= face_model.n_expr):
        raise FittingError(
            f"n_shape/n_expr must be in [0, {face_model.n_shape}] / [0, {face_model.n_expr}]"
        )
    if not (landmark_std > 0 and expr_prior > 0 and iterations >= 1):
        raise FittingError("landmark_std and expr_prior must be > 0 and iterations >= 1")
    prob = _Problem(face_model, ks, ke)
    sigma = landmark_std * prob.eye  # model units
    x = x_down.copy()
    x[:, :, 1] = sizes[:, 1:2] - x[:, :, 1]  # y up from the bottom edge
    valid = np.all(np.isfinite(x), axis=2) & prob.present[None]
    x = np.where(valid[:, :, None], x, 0.0)
    c = np.zeros(ks)
    e = np.zeros((m, ke))
    w = valid.astype(np.float64)
    rot = np.zeros((m, 3, 3))
    scale = np.zeros(m)
    trans = np.zeros((m, 2))
    idx = np.zeros((m, 68), dtype=np.int64)
    base = np.array([prob.local[int(v)] for v in prob.lm])
    for it in range(iterations + 1):
        for i in range(m):
            pts = prob.points(c, e[i])
            if it == 0:
                idx[i] = base
            rot[i], scale[i], trans[i] = estimate_pose(pts[idx[i]], x[i], w[i], refine=False)
            idx[i] = prob.choose(pts, rot[i], contour)
            rot[i], scale[i], trans[i] = estimate_pose(pts[idx[i]], x[i], w[i])
        resid = _residuals(prob, c, e, idx, rot, scale, trans, x)  # model units
        if robust:
            w = _robust_weights(resid, valid, sigma)
        if it == iterations:
            break
        c, e = _solve(prob, idx, rot, scale, trans, x, w, sigma, expr_prior)
    resid_px = resid * scale[:, None]
    resid_px = np.where(valid, resid_px, np.nan)
    rms = np.sqrt(np.nanmean(resid_px**2, axis=1))
    nme = np.nanmean(resid_px, axis=1) / (scale * _eye_width(prob, c, e, idx))
    fitted = np.stack(
        [scale[i] * (prob.points(c, e[i])[idx[i]] @ rot[i][:2].T) + trans[i] for i in range(m)]
    )
    fitted[:, :, 1] = sizes[:, 1:2] - fitted[:, :, 1]
    local_to_global = np.array(sorted(prob.local, key=prob.local.__getitem__), dtype=np.int64)
    return FitResult(
        shape=np.concatenate([c * prob.shape_std, np.zeros(face_model.n_shape - ks)]).astype(
            np.float32
        ),
        expr=np.concatenate([e * prob.expr_std, np.zeros((m, face_model.n_expr - ke))], axis=1)
        .astype(np.float32)
        .reshape(m, face_model.n_expr),
        rotation=rot,
        translation=np.concatenate([trans, np.zeros((m, 1))], axis=1),
        scale=scale,
        rms_px=rms,
        nme=nme,
        residuals_px=resid_px,
        weights=np.where(valid, w, 0.0),
        fitted_px=fitted,
        vertex_index=local_to_global[idx],
        image_size=sizes,
        iterations=iterations,
    )


def _eye_width(prob: _Problem, c: np.ndarray, e: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = []
    for i in range(len(e)):
        pts = prob.points(c, e[i])
        out.append(float(np.linalg.norm(pts[idx[i, 45]] - pts[idx[i, 36]])))
    return np.asarray(out)


def _residuals(
    prob: _Problem,
    c: np.ndarray,
    e: np.ndarray,
    idx: np.ndarray,
    rot: np.ndarray,
    scale: np.ndarray,
    trans: np.ndarray,
    x: np.ndarray,
) -> np.ndarray:
    """(M, 68) landmark error norms in model units."""
    out = np.zeros(idx.shape)
    for i in range(len(e)):
        p = scale[i] * (prob.points(c, e[i])[idx[i]] @ rot[i][:2].T) + trans[i]
        out[i] = np.linalg.norm(p - x[i], axis=1) / scale[i]
    return out


def _robust_weights(resid: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Cauchy weights with a per-image robust scale (median residual norm, floored at sigma)."""
    w = np.zeros_like(resid)
    for i in range(len(resid)):
        r = resid[i][valid[i]]
        # the median norm of a 2D isotropic Gaussian error is 1.1774 of its std
        s = max(sigma, float(np.median(r)) / 1.1774)
        w[i] = 1.0 / (1.0 + (resid[i] / (3.0 * s)) ** 2)
    return np.where(valid, w, 0.0)


def _solve(
    prob: _Problem,
    idx: np.ndarray,
    rot: np.ndarray,
    scale: np.ndarray,
    trans: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    sigma: float,
    expr_prior: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint linear least squares for the shared shape and per-image expressions."""
    m = len(rot)
    ks, ke = prob.sb.shape[2], prob.eb.shape[2]
    n = ks + m * ke
    ata = np.zeros((n, n))
    atb = np.zeros(n)
    for i in range(m):
        proj = rot[i][:2]  # (2, 3); scale divides out: residuals in model units
        sw = np.repeat(np.sqrt(w[i]), 2) / sigma
        rows = 2 * idx.shape[1]
        a_s = np.einsum("ab,kbj->kaj", proj, prob.sb[idx[i]]).reshape(rows, ks) * sw[:, None]
        a_e = np.einsum("ab,kbj->kaj", proj, prob.eb[idx[i]]).reshape(rows, ke) * sw[:, None]
        rhs = ((x[i] - trans[i]) / scale[i] - prob.mean[idx[i]] @ proj.T).reshape(-1) * sw
        block = slice(ks + i * ke, ks + (i + 1) * ke)
        ata[:ks, :ks] += a_s.T @ a_s
        cross = a_s.T @ a_e
        ata[:ks, block] = cross
        ata[block, :ks] = cross.T
        ata[block, block] = a_e.T @ a_e
        atb[:ks] += a_s.T @ rhs
        atb[block] = a_e.T @ rhs
    prior = np.concatenate([np.ones(ks), np.full(m * ke, expr_prior)])
    sol = np.linalg.solve(ata + np.diag(prior), atb)
    return sol[:ks], sol[ks:].reshape(m, ke)
