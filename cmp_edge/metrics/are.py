"""ARE, keypoint error, consistency and the binomial test (spec section 4).

- :func:`width_ratios` / :func:`are`: the absolute ratio error (ARE) of four
  left-right face widths (ER ear, FR forehead, MR mid, CR cheek), each
  divided by the outer-interocular distance OICD.
- :func:`aggregate_are`: average over up to 3 utterances per identity, then
  over identities.
- :func:`keypoint_rmse`: landmark error after matching the OICD (the oicd pair).
- :func:`consistency`: per-vertex spread of one speaker's meshes across
  utterances, next to the spread between speakers (the paper's Q2 analysis).
- :func:`binomial_test`: the one-sided test of the preference study.

Widths are measured between named landmarks (see docs/architecture.md):
``oicd_left/oicd_right``, ``ear_*``, ``forehead_*``, ``mid_*``, ``cheek_*``.
:data:`BFM_LANDMARKS` holds the spec's vertex indices for the 53215-vertex
BFM/3DDFA topology; :attr:`FaceModel.landmarks` carries them for any model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cmp_edge.facemodel.landmarks import CMP_N_VERTICES, WIDTH_PAIRS, bfm_are_landmarks

__all__ = [
    "BFM_LANDMARKS",
    "RATIO_NAMES",
    "WIDTH_PAIRS",
    "aggregate_are",
    "are",
    "binomial_test",
    "consistency",
    "keypoint_rmse",
    "width_ratios",
    "widths",
]

#: The ratios reported by ARE, in the paper's table order.
RATIO_NAMES: tuple[str, ...] = ("ER", "FR", "MR", "CR")

BFM_LANDMARKS: dict[str, int] = bfm_are_landmarks(CMP_N_VERTICES)
"""Spec section 4 vertex indices in the 53215-vertex BFM/3DDFA topology, by landmark name."""


def _vertices(value: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3), got {arr.shape}")
    return arr


def _index(landmarks: Mapping[str, int], name: str, n: int) -> int:
    if name not in landmarks:
        raise ValueError(
            f"landmark {name!r} is missing; the face model must name "
            f"{sorted(n for pair in WIDTH_PAIRS.values() for n in pair)}"
        )
    idx = int(landmarks[name])
    if not 0 <= idx < n:
        raise IndexError(f"landmark {name!r} = {idx} is outside the mesh's {n} vertices")
    return idx


def widths(vertices: npt.ArrayLike, landmarks: Mapping[str, int]) -> dict[str, float]:
    """Euclidean left-right widths OICD, ER, FR, MR, CR in the vertices' units.

    Args:
        vertices: (N, 3) mesh.
        landmarks: name -> vertex index, with the names of :data:`WIDTH_PAIRS`.

    Raises:
        ValueError: wrong shape or a missing landmark. IndexError: a landmark
            index outside the mesh.
    """
    verts = _vertices(vertices, "vertices")
    out = {}
    for key, (left, right) in WIDTH_PAIRS.items():
        a = verts[_index(landmarks, left, len(verts))]
        b = verts[_index(landmarks, right, len(verts))]
        out[key] = float(np.linalg.norm(a - b))
    return out


def width_ratios(vertices: npt.ArrayLike, landmarks: Mapping[str, int]) -> dict[str, float]:
    """Ratios ER, FR, MR, CR = width / OICD (dimensionless).

    Raises:
        ValueError: as :func:`widths`, or a zero OICD.
    """
    w = widths(vertices, landmarks)
    if not w["OICD"] > 0:
        raise ValueError("OICD is zero: the outer eye corner landmarks coincide")
    return {key: w[key] / w["OICD"] for key in RATIO_NAMES}


def are(pred: npt.ArrayLike, ref: npt.ArrayLike, landmarks: Mapping[str, int]) -> dict[str, float]:
    """Absolute ratio errors |ratio_pred - ratio_ref| of ER, FR, MR, CR, and their mean.

    Args:
        pred, ref: (N, 3) predicted and reference meshes of one topology.
        landmarks: the width landmarks of that topology.

    Returns:
        ``{"ER", "FR", "MR", "CR", "mean"}`` (dimensionless).
    """
    rp = width_ratios(pred, landmarks)
    rr = width_ratios(ref, landmarks)
    out = {key: abs(rp[key] - rr[key]) for key in RATIO_NAMES}
    out["mean"] = sum(out.values()) / len(RATIO_NAMES)
    return out


def aggregate_are(
    results: Mapping[str, Sequence[Mapping[str, float]]], max_utterances: int = 3
) -> dict[str, float]:
    """Average ARE dicts over up to ``max_utterances`` per identity, then over identities.

    Args:
        results: identity -> list of :func:`are` dicts, one per utterance (the
            first ``max_utterances`` are used, in the given order).

    Returns:
        ``{"ER", "FR", "MR", "CR", "mean"}``; "mean" is the mean of the four.

    Raises:
        ValueError: no identities, an identity without utterances, or a dict
            without the four ratio names.
    """
    if max_utterances < 1:
        raise ValueError(f"max_utterances must be >= 1, got {max_utterances}")
    if not results:
        raise ValueError("no identities to aggregate")
    per_identity = []
    for identity, utterances in results.items():
        used = list(utterances)[:max_utterances]
        if not used:
            raise ValueError(f"identity {identity!r} has no utterances")
        for item in used:
            missing = [k for k in RATIO_NAMES if k not in item]
            if missing:
                raise ValueError(f"identity {identity!r}: ARE result lacks {missing}")
        per_identity.append([[float(item[k]) for k in RATIO_NAMES] for item in used])
    means = np.array([np.mean(rows, axis=0) for rows in per_identity]).mean(axis=0)
    out = {key: float(v) for key, v in zip(RATIO_NAMES, means, strict=True)}
    out["mean"] = float(means.mean())
    return out


def keypoint_rmse(
    pred: npt.ArrayLike,
    ref: npt.ArrayLike,
    landmark_indices: Mapping[str, int] | Sequence[int] | npt.ArrayLike,
    *,
    oicd_pair: tuple[int, int] | None = None,
    dims: int = 3,
    align_centroid: bool = False,
) -> float:
    """Normalised keypoint error between two meshes of one topology.

    Reading of spec section 4, step by step:

    1. ``P`` and ``Q`` are the 68 landmark positions (rows ``landmark_indices``)
       of the prediction and the reference.
    2. The prediction is scaled about the model origin by
       ``s = OICD(ref) / OICD(pred)``. OICD is the spec's outer-interocular
       distance, the vertex pair ``oicd_left``/``oicd_right`` (2217, 14607 in
       the BFM/3DDFA topology, the ARE pair), taken from ``landmark_indices``
       when it is a landmark mapping that names them. Fallback when those
       names are absent (or plain indices are given): the outer eye corners,
       ibug landmarks 36 and 45. An explicit ``oicd_pair`` overrides both.
       With ``align_centroid=True`` the landmark centroids are also made to
       coincide (not in the spec; for meshes in different frames).
    3. "RMSE over the 68 landmark coordinates" is read as the root mean
       square of the per-landmark Euclidean distance:
       ``sqrt(mean_i ||s P_i - Q_i||^2)`` over the first ``dims`` coordinates
       (3: x, y, z, the default; 2: x, y only, as in 2D face alignment).
       (The root mean square over the individual scalar coordinates would
       be this value divided by ``sqrt(dims)``.)
    4. The result is divided by ``sqrt(h * w)``, where ``w`` and ``h`` are the
       x and y extents of the reference landmarks' bounding box.

    Args:
        pred, ref: (N, 3) meshes.
        landmark_indices: either a face model's landmark mapping
            (:attr:`FaceModel.landmarks`: ``"ibug_00"`` .. ``"ibug_67"`` and,
            when present, ``"oicd_left"``/``"oicd_right"``), or 68 vertex
            indices (the ibug points) in ibug order.

    Returns:
        The dimensionless normalised error.

    Raises:
        ValueError: wrong shapes, a mapping without the 68 ibug names, not 68
            indices without ``oicd_pair``, a zero OICD or a degenerate bounding
            box. IndexError: an index outside the mesh.
    """
    named_pair: tuple[int, int] | None = None
    if isinstance(landmark_indices, Mapping):
        names = [f"ibug_{k:02d}" for k in range(68)]
        missing = [n for n in names if n not in landmark_indices]
        if missing:
            raise ValueError(f"the landmarks lack the 68 ibug points ({len(missing)} missing)")
        if "oicd_left" in landmark_indices and "oicd_right" in landmark_indices:
            named_pair = (int(landmark_indices["oicd_left"]), int(landmark_indices["oicd_right"]))
        landmark_indices = [int(landmark_indices[n]) for n in names]
    p = _vertices(pred, "pred")
    q = _vertices(ref, "ref")
    if p.shape != q.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {q.shape}")
    idx = np.asarray(landmark_indices)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError("landmark_indices must be a non-empty 1-D integer sequence")
    if idx.min() < 0 or idx.max() >= len(p):
        raise IndexError(f"landmark_indices must lie in [0, {len(p)})")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    if oicd_pair is None and named_pair is not None:
        oicd_pair = named_pair
    if oicd_pair is None:
        if idx.size != 68:
            raise ValueError(f"expected the 68 ibug landmarks, got {idx.size}; or pass oicd_pair")
        pair = (int(idx[36]), int(idx[45]))
    else:
        pair = (int(oicd_pair[0]), int(oicd_pair[1]))
        if not (0 <= pair[0] < len(p) and 0 <= pair[1] < len(p)):
            raise IndexError(f"oicd_pair {pair} is outside the mesh's {len(p)} vertices")
    oicd_p = float(np.linalg.norm(p[pair[0]] - p[pair[1]]))
    oicd_q = float(np.linalg.norm(q[pair[0]] - q[pair[1]]))
    if not (oicd_p > 0 and oicd_q > 0):
        raise ValueError("OICD is zero in pred or ref")
    lp = p[idx] * (oicd_q / oicd_p)
    lq = q[idx]
    if align_centroid:
        lp = lp - lp.mean(axis=0) + lq.mean(axis=0)
    diff = (lp - lq)[:, :dims]
    rmse = math.sqrt(float(np.mean(np.sum(diff * diff, axis=1))))
    w, h = np.ptp(lq[:, 0]), np.ptp(lq[:, 1])
    if not (w > 0 and h > 0):
        raise ValueError("the reference landmarks' x/y bounding box is degenerate")
    return rmse / math.sqrt(float(w) * float(h))


def consistency(meshes_by_speaker: Mapping[str, npt.ArrayLike]) -> dict[str, Any]:
    """Within-speaker spread of meshes across utterances, against the between-speaker spread.

    For speaker s with utterance meshes ``V[s, u]`` (N, 3) and mean mesh
    ``M[s] = mean_u V[s, u]``, the within-speaker distances are
    ``d[s, u, i] = ||V[s, u, i] - M[s, i]||``. The between-speaker distances
    are ``e[s, i] = ||M[s, i] - G[i]||`` with ``G = mean_s M[s]``. Units are
    those of the vertices (mm for the default model).

    Args:
        meshes_by_speaker: speaker -> (U, N, 3) meshes of one topology.
            Speakers with a single mesh add nothing to the within-speaker
            statistics but count for the between-speaker ones.

    Returns:
        dict with ``within_mean``, ``within_std`` (pooled over all speakers,
        utterances and vertices; NaN when no speaker has 2 meshes),
        ``between_mean``, ``between_std`` (pooled over speakers and vertices;
        NaN with fewer than 2 speakers), ``ratio`` (within_mean /
        between_mean), ``within_per_vertex`` and ``between_per_vertex`` ((N,)
        mean distances, for heat maps), and ``per_speaker``: speaker ->
        ``{"mean", "std", "utterances"}``.

    Raises:
        ValueError: no speakers, wrong shapes, or different vertex counts.
    """
    if not meshes_by_speaker:
        raise ValueError("no speakers given")
    n_vertices: int | None = None
    means = []
    within_sum: npt.NDArray[np.float64] | None = None
    within_sq = 0.0
    within_count = 0
    per_speaker: dict[str, dict[str, float]] = {}
    for speaker, meshes in meshes_by_speaker.items():
        arr = np.asarray(meshes, dtype=np.float64)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0:
            raise ValueError(
                f"speaker {speaker!r}: meshes must have shape (U, N, 3), got {arr.shape}"
            )
        if n_vertices is None:
            n_vertices = arr.shape[1]
        elif arr.shape[1] != n_vertices:
            raise ValueError(f"speaker {speaker!r}: {arr.shape[1]} vertices, expected {n_vertices}")
        mean = arr.mean(axis=0)
        means.append(mean)
        d = np.linalg.norm(arr - mean, axis=2)  # (U, N)
        per_speaker[str(speaker)] = {
            "mean": float(d.mean()),
            "std": float(d.std()),
            "utterances": float(arr.shape[0]),
        }
        if arr.shape[0] >= 2:
            within_sum = d.sum(axis=0) if within_sum is None else within_sum + d.sum(axis=0)
            within_sq += float(np.sum(d * d))
            within_count += d.shape[0]
    assert n_vertices is not None
    nan_map = np.full(n_vertices, np.nan)
    if within_sum is not None:
        total = within_count * n_vertices
        within_mean = float(within_sum.sum() / total)
        within_std = math.sqrt(max(within_sq / total - within_mean**2, 0.0))
        within_map = within_sum / within_count
    else:
        within_mean = within_std = math.nan
        within_map = nan_map
    if len(means) >= 2:
        stacked = np.stack(means)
        e = np.linalg.norm(stacked - stacked.mean(axis=0), axis=2)  # (S, N)
        between_mean, between_std = float(e.mean()), float(e.std())
        between_map = e.mean(axis=0)
    else:
        between_mean = between_std = math.nan
        between_map = nan_map.copy()
    ratio = within_mean / between_mean if between_mean > 0 else math.nan
    return {
        "within_mean": within_mean,
        "within_std": within_std,
        "between_mean": between_mean,
        "between_std": between_std,
        "ratio": ratio,
        "within_per_vertex": within_map,
        "between_per_vertex": between_map,
        "per_speaker": per_speaker,
    }


def binomial_test(successes: int, trials: int, p: float = 0.5) -> float:
    """One-sided binomial test: P(X >= successes) for X ~ Binomial(trials, p).

    The preference study's test that raters prefer one method more often than
    chance (scipy.stats.binomtest, alternative="greater").

    Raises:
        ValueError: non-integer counts, ``successes`` outside [0, trials],
            ``trials`` < 1, or ``p`` outside (0, 1).
    """
    from scipy.stats import binomtest

    if int(successes) != successes or int(trials) != trials:
        raise ValueError("successes and trials must be integers")
    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {k} of {n}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    return float(binomtest(k, n, p, alternative="greater").pvalue)
