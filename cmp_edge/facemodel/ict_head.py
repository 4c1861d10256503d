"""The recipe of cmp-edge's default face model: a head cut from the ICT Face Model Light.

``python -m cmp_edge.facemodel build-default ICT-FaceKit/FaceXModel`` runs
:func:`build_head` and writes ``cmp_edge/models/ict-head.npz``. The steps:

1. Read the ICT folder (:func:`~cmp_edge.facemodel.formats.ict.read_ict`, mm,
   cmp-edge axes), its first 40 identity modes and all its blendshapes.
2. Keep the head that carries face geometry: the skin (ICT's face region, with
   the ears, and its head-and-neck region) above the neck cut, a horizontal
   plane :data:`NECK_CUT_MM` below the chin (ibug 8), and the front half of
   each eyeball (vertices at or in front of that eyeball's centroid), so the
   eyes are present and the back of the eyeballs, hidden inside the head, is
   not stored. Mouth socket, gums, tongue, teeth, eye sockets, lacrimal fluid,
   eye blend/occlusion and eyelash strips are dropped (they are inside the head
   or thin overlays, and carry no face width). A triangle is kept when all of
   its corners are; vertices no kept triangle uses are dropped.
3. Shape: ICT's identity modes 0-39 in their order and scale
   (``(identity_i - neutral) x 10`` at the kept vertices; a coefficient ~ N(0, 1)
   is the prior).
4. Expression: the 10 principal directions of random sparse blendshape
   activations. With activations drawn independently, ``w_k = b_k u_k``,
   ``b_k ~ Bernoulli(p)``, ``u_k ~ U(0, 1)``, ``p`` = :data:`ACTIVATION_P` (about 5
   of the 53 active at once), the displacement's covariance is ``sigma^2 B B^T``
   with ``sigma^2 = p/3 - p^2/4`` and B the (3N, 53) blendshape offsets, so the
   directions are B's principal directions; they are measured on the skin
   vertices (the eyeballs' gaze motion does not steer them) as unit weight
   vectors ``v_j`` (right singular vectors), and mode ``j`` is the blendshape
   combination ``B v_j`` scaled by ``sigma s_j`` (s_j the singular value over
   ``||B v_j||``: the coefficient's prior is N(0, 1)). Each mode's sign makes its
   largest weight positive; its name joins its two largest-weight blendshapes
   with their signs.
5. Landmarks: ICT's 68 ibug vertices, the five ARE pairs of
   :func:`~cmp_edge.facemodel.formats.ict_rules.are_landmarks` (placed on the
   full mean head), and the ICT vertex regions, all renumbered to the kept vertices.
"""

from __future__ import annotations

import os
from typing import Final

import numpy as np

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData, model_data
from cmp_edge.facemodel.formats.ict import read_ict
from cmp_edge.facemodel.packaged import DEFAULT_ID

__all__ = [
    "ACTIVATION_P",
    "HEAD_ID",
    "N_EXPR",
    "N_SHAPE",
    "NECK_CUT_MM",
    "build_head",
    "expression_modes",
    "kept_vertices",
]

HEAD_ID: Final = DEFAULT_ID
N_SHAPE: Final = 40
N_EXPR: Final = 10
NECK_CUT_MM: Final = 30.0
"""The neck is cut this far below the chin (ibug 8), in mm."""
ACTIVATION_P: Final = 0.1
"""Probability that a blendshape is active in the random activations (step 4)."""


def kept_vertices(data: ModelData) -> np.ndarray:
    """Sorted (K,) indices of the full ICT mesh that the head keeps (steps 2)."""
    mean = np.asarray(data["mean"], dtype=np.float64)
    regions = data["regions"]
    skin = np.concatenate([regions["face_narrow"], regions["face_outer"], regions["head_neck"]])
    cut = mean[data["landmarks"]["ibug_08"], 1] - NECK_CUT_MM
    keep = np.zeros(len(mean), dtype=bool)
    keep[skin[mean[skin, 1] > cut]] = True
    eyes = np.asarray(regions["eyeballs"])
    for side in (eyes[mean[eyes, 0] < 0], eyes[mean[eyes, 0] > 0]):
        keep[side[mean[side, 2] >= mean[side, 2].mean()]] = True
    tri = np.asarray(data["triangles"])
    used = np.zeros_like(keep)
    used[tri[keep[tri].all(axis=1)].ravel()] = True
    return np.flatnonzero(keep & used).astype(np.int32)


def expression_modes(
    blend: np.ndarray, names: list[str], skin_rows: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """The :data:`N_EXPR` expression modes of step 4.

    Args:
        blend: (3K, B) float blendshape offsets at the kept vertices, mm.
        names: the B blendshape names.
        skin_rows: indices of the rows (3 per vertex) the directions are measured on.

    Returns:
        (3K, N_EXPR) float32 basis (a coefficient ~ N(0, 1) is the prior) and the names.
    """
    b64 = np.asarray(blend, dtype=np.float64)
    if b64.shape[1] < N_EXPR:
        raise FaceModelError(f"{b64.shape[1]} blendshapes; the head needs at least {N_EXPR}")
    _, s, vt = np.linalg.svd(b64[skin_rows], full_matrices=False)
    sigma = np.sqrt(ACTIVATION_P / 3.0 - ACTIVATION_P**2 / 4.0)
    basis = np.empty((b64.shape[0], N_EXPR), dtype=np.float64)
    out_names: list[str] = []
    for j in range(N_EXPR):
        w = vt[j]
        order = np.argsort(-np.abs(w), kind="stable")
        if w[order[0]] < 0:
            w = -w
        basis[:, j] = b64 @ (w * sigma)
        top = [f"{'+' if w[k] > 0 else '-'}{names[k]}" for k in order[:2]]
        out_names.append((top[0][1:] + top[1]) if top else f"expr{j}")
    del s  # the scale is carried by b64 @ w (its norm on the skin rows is s_j)
    return basis.astype(np.float32), out_names


def build_head(folder: str | os.PathLike[str]) -> ModelData:
    """Build the default head from an ICT FaceXModel folder (the module doc's recipe).

    Returns:
        The keyword arguments of ``FaceModel`` (id :data:`HEAD_ID`, mm, 40 + 10 modes).

    Raises:
        FaceModelError: the folder is not the ICT Face Model Light.
    """
    data = read_ict(folder, n_identity=N_SHAPE)
    if np.shape(data["shape_basis"])[1] != N_SHAPE:
        raise FaceModelError(f"{folder}: fewer than {N_SHAPE} identity modes")
    keep = kept_vertices(data)
    remap = np.full(len(data["mean"]), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    rows = (3 * keep[:, None] + np.arange(3)).ravel()
    tri = np.asarray(data["triangles"])
    tri = remap[tri[(remap[tri] >= 0).all(axis=1)]].astype(np.int32)
    landmarks = {k: int(remap[i]) for k, i in data["landmarks"].items()}
    lost = sorted(k for k, i in landmarks.items() if i < 0)
    if lost:
        raise FaceModelError(f"{folder}: landmarks {lost} fall outside the kept head")
    regions = {k: remap[v][remap[v] >= 0] for k, v in data["regions"].items()}
    regions = {k: v for k, v in regions.items() if v.size}
    skin = np.concatenate([regions[k] for k in ("face_narrow", "face_outer", "head_neck")])
    expr, expr_names = expression_modes(
        np.asarray(data["expr_basis"])[rows],
        list(data["expr_names"]),
        (3 * np.sort(skin)[:, None] + np.arange(3)).ravel(),
    )
    return model_data(
        np.asarray(data["mean"])[keep],
        np.ascontiguousarray(np.asarray(data["shape_basis"])[rows]),
        expr,
        tri,
        landmarks,
        units="mm",
        id=HEAD_ID,
        source_scale=float(data["source_scale"]),
        shape_names=list(data["shape_names"]),
        expr_names=expr_names,
        regions=regions,
    )
