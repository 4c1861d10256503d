"""Faces of the synthetic paired corpus: prior samples, geometry factors, albedo and images.

An identity's face is a draw of 40 shape + 10 expression coefficients from
the face model's prior (N(0, 1) in the units of ``FaceModel.default()``).
Its geometry is summarised by a few measurements on landmark vertices
(:data:`GEOMETRY_FACTORS`), standardised against the prior; the voice
synthesiser reads combinations of them (:data:`PLANTED_WEIGHTS`). Images are
renders of the mesh with random albedo, lighting, background and a small
head pose.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from train.synth_voice import VOICE_FACTORS

__all__ = [
    "GEOMETRY_FACTORS",
    "PLANTED_WEIGHTS",
    "FaceGeometry",
    "random_albedo",
    "random_pose",
    "render_face",
]

#: Face measurements (all from landmark vertices; widths are left-right distances):
#: head width (ear to ear, mm), face height (nasion ibug_27 to chin ibug_08, mm),
#: and the ARE ratios ear / forehead / mid / cheek ("jaw") width over OICD.
GEOMETRY_FACTORS = (
    "head_width",
    "face_height",
    "ear_ratio",
    "forehead_ratio",
    "mid_ratio",
    "jaw_ratio",
)

#: Weights (rows: VOICE_FACTORS vtl, f0, f1, f2; columns: GEOMETRY_FACTORS) of
#: the planted geometry scores read by the voice. Each score is standardised
#: over the prior, so only the direction of a row matters.
PLANTED_WEIGHTS = np.array(
    [
        [0.4, 0.5, 0.0, 0.8, 0.0, 0.0],  # vocal-tract length: head width, face height, FR
        [0.4, 0.0, 0.0, 0.0, 0.0, 0.9],  # pitch: head width, jaw (CR)
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],  # F1 scale: mid-face width (MR)
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],  # F2/F3 scale: ear width (ER)
    ]
)

_PAIRS = {
    "ear": ("ear_left", "ear_right"),
    "forehead": ("forehead_left", "forehead_right"),
    "mid": ("mid_left", "mid_right"),
    "jaw": ("cheek_left", "cheek_right"),
    "oicd": ("oicd_left", "oicd_right"),
}
_HEIGHT = ("ibug_27", "ibug_08")
_REFERENCE_DRAWS = 2048
_REFERENCE_SEED = 20220619


@dataclasses.dataclass(frozen=True)
class FaceGeometry:
    """Geometry measurements of a face model's identities, standardised over its prior.

    Build with :meth:`for_model`; the statistics come from a fixed sample of
    the prior (independent of the corpus seed), so a face's standardised
    factors do not depend on which other identities are in the corpus.
    """

    landmark_rows: np.ndarray  # (L,) vertex indices used by the measurements
    names: tuple[str, ...]  # landmark name of each row
    mean_points: np.ndarray  # (L, 3)
    shape_rows: np.ndarray  # (L, 3, Ks)
    expr_rows: np.ndarray  # (L, 3, Ke)
    factor_mean: np.ndarray  # (G,)
    factor_std: np.ndarray  # (G,)
    planted_std: np.ndarray  # (len(VOICE_FACTORS),)

    @classmethod
    def for_model(cls, model: Any) -> FaceGeometry:
        """Measurement set-up and prior statistics for a face model.

        Raises:
            ValueError: the model lacks one of the width landmarks.
        """
        wanted = [name for pair in _PAIRS.values() for name in pair]
        height = list(_HEIGHT) if all(n in model.landmarks for n in _HEIGHT) else []
        missing = [n for n in wanted if n not in model.landmarks]
        if missing:
            raise ValueError(f"face model {model.id!r} lacks landmarks {missing}")
        names = tuple(wanted + height)
        rows = np.array([model.landmarks[n] for n in names], dtype=np.int64)
        n_shape = model.shape_basis.shape[1]
        n_expr = model.expr_basis.shape[1]
        shape_rows = np.asarray(model.shape_basis, np.float64).reshape(-1, 3, n_shape)[rows]
        expr_rows = np.asarray(model.expr_basis, np.float64).reshape(-1, 3, n_expr)[rows]
        partial = cls(
            landmark_rows=rows,
            names=names,
            mean_points=np.asarray(model.mean, np.float64)[rows],
            shape_rows=shape_rows,
            expr_rows=expr_rows,
            factor_mean=np.zeros(len(GEOMETRY_FACTORS)),
            factor_std=np.ones(len(GEOMETRY_FACTORS)),
            planted_std=np.ones(len(VOICE_FACTORS)),
        )
        rng = np.random.default_rng(_REFERENCE_SEED)
        raw = partial.measure(
            rng.standard_normal((_REFERENCE_DRAWS, n_shape)),
            rng.standard_normal((_REFERENCE_DRAWS, n_expr)),
        )
        mean, std = raw.mean(axis=0), raw.std(axis=0)
        z = (raw - mean) / np.maximum(std, 1e-12)
        planted_std = (z @ PLANTED_WEIGHTS.T).std(axis=0)
        return dataclasses.replace(
            partial,
            factor_mean=mean,
            factor_std=np.maximum(std, 1e-12),
            planted_std=np.maximum(planted_std, 1e-12),
        )

    def points(self, shape: np.ndarray, expr: np.ndarray) -> dict[str, np.ndarray]:
        """Landmark positions by name, (..., 3), for coefficients (..., Ks) and (..., Ke)."""
        pts = (
            self.mean_points
            + np.einsum("lck,...k->...lc", self.shape_rows, shape)
            + np.einsum("lck,...k->...lc", self.expr_rows, expr)
        )
        return {name: pts[..., i, :] for i, name in enumerate(self.names)}

    def measure(self, shape: np.ndarray, expr: np.ndarray) -> np.ndarray:
        """Raw geometry factors (..., G) in the order of :data:`GEOMETRY_FACTORS`."""
        p = self.points(np.asarray(shape, np.float64), np.asarray(expr, np.float64))
        width = {k: np.linalg.norm(p[a] - p[b], axis=-1) for k, (a, b) in _PAIRS.items()}
        if _HEIGHT[0] in p:
            height = np.linalg.norm(p[_HEIGHT[0]] - p[_HEIGHT[1]], axis=-1)
        else:  # upper-face height: forehead centre to cheek centre
            top = 0.5 * (p["forehead_left"] + p["forehead_right"])
            low = 0.5 * (p["cheek_left"] + p["cheek_right"])
            height = np.linalg.norm(top - low, axis=-1)
        oicd = width["oicd"]
        return np.stack(
            [
                width["ear"],
                height,
                width["ear"] / oicd,
                width["forehead"] / oicd,
                width["mid"] / oicd,
                width["jaw"] / oicd,
            ],
            axis=-1,
        )

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        """z-scores of raw geometry factors against the prior."""
        return (np.asarray(raw, np.float64) - self.factor_mean) / self.factor_std

    def planted(self, z: np.ndarray) -> np.ndarray:
        """Unit-variance planted scores (len(VOICE_FACTORS),) read by the voice."""
        return (PLANTED_WEIGHTS @ z) / self.planted_std


def random_albedo(vertices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-vertex RGB albedo in [0, 1]: a skin tone with smooth blotches.

    ``c(v) = skin * (1 + 0.06 sum_k sin(a_k . v / 40mm + phi_k))`` for three
    random directions ``a_k``; the skin tone is drawn from a light-to-dark ramp.
    """
    light = np.array([0.93, 0.78, 0.68])
    dark = np.array([0.40, 0.27, 0.20])
    t = rng.uniform(0.0, 1.0)
    skin = (1.0 - t) * light + t * dark
    skin = skin * rng.uniform(0.95, 1.05, 3)
    centred = vertices - vertices.mean(axis=0)
    directions = rng.standard_normal((3, 3))
    phases = rng.uniform(0.0, 2.0 * math.pi, 3)
    blotch = np.sin(centred @ directions.T / 40.0 + phases).sum(axis=1)
    colors = skin[None, :] * (1.0 + 0.06 * blotch)[:, None]
    return np.clip(colors, 0.0, 1.0).astype(np.float32)


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """A small head rotation (3, 3): yaw +-15, pitch +-8, roll +-5 degrees (uniform)."""
    yaw, pitch, roll = np.deg2rad(rng.uniform([-15.0, -8.0, -5.0], [15.0, 8.0, 5.0]))
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    r_yaw = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    r_pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return r_roll @ r_pitch @ r_yaw


def render_face(
    vertices: np.ndarray,
    triangles: np.ndarray,
    albedo: np.ndarray,
    rng: np.random.Generator,
    size: int,
) -> np.ndarray:
    """One photo-like render (size, size, 3) uint8 of a face mesh.

    Random small head rotation, light direction (around front-top), ambient
    fraction, framing margin and a uniform background colour; rendered
    orthographically by :func:`cmp_edge.output.render.render_mesh` with 2x2
    supersampling.
    """
    from cmp_edge.output.render import render_mesh

    rotation = random_pose(rng)
    light = rng.normal([0.0, 0.3, 1.0], [0.5, 0.3, 0.1])
    light /= np.linalg.norm(light)
    ambient = float(rng.uniform(0.25, 0.45))
    background = tuple(int(c) for c in rng.integers(0, 256, 3))
    margin = float(rng.uniform(0.06, 0.14))
    return render_mesh(
        vertices,
        triangles,
        size,
        rotation,
        colors=albedo,
        light_dir=tuple(float(c) for c in light),
        ambient=ambient,
        background=background,
        margin=margin,
        antialias=2,
    )
