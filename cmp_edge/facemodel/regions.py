"""Facial regions of a face model: forehead, eyes, nose, cheeks, mouth, chin, jaw, ears.

Regions are vertex sets of a face model's topology, defined once per model and
shared by every mesh of that topology. They come from the model itself when it
carries region information (:attr:`FaceModel.regions <cmp_edge.facemodel.model.FaceModel>`:
region name -> vertex indices, e.g. written by a converter from the model's own
documentation), else they are derived from the 68 ibug landmarks by
:func:`landmark_regions`, whose definition is the data table :data:`REGION_SEEDS`.

Landmark-derived regions (the construction, step by step):

1. A face frame from the landmarks: origin the midpoint of the outer eye corners
   (ibug 36, 45); x along 36 -> 45; y the chin-to-nasion direction (ibug 8 -> 27)
   made orthogonal to x; z = x cross y, flipped if needed so that the nose tip
   (ibug 30) lies at z > 0. Lengths are divided by the outer-interocular distance
   OICD = |L45 - L36|, so the construction does not depend on the face's size,
   position, orientation or unit.
2. Seed points, each the mean of a few landmarks plus an offset in OICD units
   (``dx`` pointing away from the midline, ``dy`` up, ``dz`` out of the face):
   :data:`REGION_SEEDS` for the regions, :data:`OUTSIDE_SEEDS` for the head
   around the face (scalp, back of the head, neck).
3. Every vertex takes the region of its nearest seed (a Voronoi partition in
   the face frame); vertices nearest an outside seed, farther than
   :data:`MAX_SEED_DISTANCE` OICD from every seed, or listed in ``exclude``
   (e.g. eyeballs, teeth, mouth socket) are outside the face (label -1).

The regions therefore never overlap, and together they are the face (the
vertices with a label >= 0). "Ears" are placed from the jaw line's upper ends
(ibug 0 and 16) with a fixed offset and are approximate: ibug has no ear points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.landmarks import IBUG_NAMES

__all__ = [
    "MAX_SEED_DISTANCE",
    "OUTSIDE_SEEDS",
    "REGION_NAMES",
    "REGION_SEEDS",
    "Regions",
    "check_regions",
    "face_frame",
    "landmark_regions",
    "model_regions",
]

REGION_NAMES: Final[tuple[str, ...]] = (
    "forehead",
    "eyes",
    "nose",
    "cheeks",
    "mouth",
    "chin",
    "jaw",
    "ears",
)
"""The landmark-derived regions, in report order (eyes, cheeks, ears: both sides)."""

Seed = tuple[tuple[int, ...], tuple[float, float, float]]
"""(ibug landmark indices whose mean is the anchor, (dx outward, dy up, dz out) in OICD)."""


_ZERO = (0.0, 0.0, 0.0)


def _each(indices: Sequence[int], offset: tuple[float, float, float] = _ZERO) -> list[Seed]:
    return [((i,), offset) for i in indices]


def _pairs(
    pairs: Sequence[tuple[int, ...]], offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> list[Seed]:
    return [(tuple(p), offset) for p in pairs]


_BROWS = range(17, 27)
_SIDE_JAW = (0, 16)

REGION_SEEDS: Final[dict[str, tuple[Seed, ...]]] = {
    "forehead": tuple(
        _each(_BROWS, (0.0, 0.3, 0.0))
        + _each(_BROWS, (0.0, 0.55, -0.15))
        + _each(_BROWS, (0.0, 0.8, -0.35))
        + _each(range(19, 25), (0.0, 1.0, -0.55))
        + _each((17, 26), (0.15, 0.25, -0.15))
        + _each((17, 26), (0.2, 0.6, -0.3))
        + _each((27,), (0.0, 0.45, 0.0))
        + _each((27,), (0.0, 0.85, -0.05))
    ),
    "eyes": tuple(
        _each(range(36, 48))
        + _each(_BROWS)
        + _pairs([(37, 19), (38, 20), (43, 23), (44, 24), (36, 17), (45, 26)])
        + _each((36, 45), (0.08, 0.0, -0.03))
    ),
    "nose": tuple(
        _each(range(27, 36))
        + _pairs([(27, 28), (28, 29), (29, 30)])
        + _each((31, 35), (0.05, 0.0, -0.03))
        + _each((31, 35), (0.04, 0.08, -0.03))
    ),
    "cheeks": tuple(
        _pairs([(1, 31), (15, 35), (2, 31), (14, 35), (2, 48), (14, 54), (1, 41), (15, 46)])
        + _pairs([(0, 41), (16, 46), (1, 2, 31), (15, 14, 35), (3, 48, 31), (13, 54, 35)])
        + _pairs([(0, 1, 40, 41), (16, 15, 47, 46)])
    ),
    "mouth": tuple(
        _each(range(48, 68))
        + _pairs([(33, 51), (32, 50), (34, 52)])
        + _each((48, 54), (0.08, 0.0, -0.03))
    ),
    "chin": tuple(
        _each((7, 8, 9))
        + _pairs([(57, 8), (58, 7), (56, 9), (57, 57, 8), (8, 8, 57)])
        + _each((8,), (0.0, -0.05, -0.1))
    ),
    "jaw": tuple(
        _each((2, 3, 4, 5, 6, 10, 11, 12, 13, 14)) + _each((4, 5, 11, 12), (0.0, -0.05, -0.1))
    ),
    "ears": tuple(
        _each(_SIDE_JAW, (0.22, -0.1, -0.42))
        + _each(_SIDE_JAW, (0.24, 0.1, -0.46))
        + _each(_SIDE_JAW, (0.22, -0.28, -0.42))
        + _each(_SIDE_JAW, (0.26, -0.05, -0.6))
    ),
}
"""Region name -> seed points (see the module docstring; the regions' definition)."""

OUTSIDE_SEEDS: Final[tuple[Seed, ...]] = tuple(
    _each((27,), (0.0, 1.5, -0.5))
    + _each((27,), (0.0, 1.4, -1.3))
    + _each((17, 26), (0.3, 1.2, -0.8))
    + _each(_SIDE_JAW, (0.1, 0.5, -1.1))
    + _each(_SIDE_JAW, (0.1, -0.1, -1.4))
    + _each(_SIDE_JAW, (0.1, -0.7, -0.9))
    + _each((8,), (0.0, -0.55, -0.45))
    + _each((8,), (0.0, -0.5, -1.0))
    + _each((5, 11), (0.1, -0.45, -0.55))
    + _each((2, 14), (0.1, -0.15, -0.55))
    + _each((4, 12), (0.05, -0.2, -0.45))
)
"""Seeds of the head around the face (scalp, back of the head, neck): label -1."""

MAX_SEED_DISTANCE: Final = 0.4
"""Vertices farther than this (OICD units) from every seed are outside the face."""


@dataclass(frozen=True)
class Regions:
    """A partition of a face model's vertices into named facial regions.

    Attributes:
        names: region names; label ``k`` is ``names[k]``.
        labels: (N,) int16, the region label of each vertex, -1 outside the face.
        source: "model" (the face model's own region information) or "landmarks".
    """

    names: tuple[str, ...]
    labels: npt.NDArray[np.int16]
    source: str = "landmarks"

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be a 1-D integer array, got {labels.shape}")
        if labels.size and (labels.min() < -1 or labels.max() >= len(self.names)):
            raise ValueError(f"labels must lie in [-1, {len(self.names)})")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"region names repeat: {self.names}")

    @property
    def n_vertices(self) -> int:
        """Number of vertices N of the topology."""
        return int(self.labels.shape[0])

    def indices(self, name: str) -> npt.NDArray[np.int64]:
        """Sorted vertex indices of region ``name``. Raises KeyError for an unknown name."""
        if name not in self.names:
            raise KeyError(f"no region {name!r}; regions: {', '.join(self.names)}")
        return np.flatnonzero(self.labels == self.names.index(name))

    @property
    def face(self) -> npt.NDArray[np.bool_]:
        """(N,) bool: the vertices in some region (the face)."""
        return np.asarray(self.labels >= 0)

    def as_dict(self) -> dict[str, npt.NDArray[np.int64]]:
        """Region name -> sorted vertex indices (the form :class:`FaceModel` stores)."""
        return {name: self.indices(name) for name in self.names}

    @classmethod
    def from_indices(
        cls, regions: Mapping[str, npt.ArrayLike], n_vertices: int, source: str = "model"
    ) -> Regions:
        """Regions from name -> vertex indices.

        Raises:
            ValueError: an index outside [0, n_vertices), a non-integer index
                array, or a vertex listed in two regions.
        """
        labels = np.full(n_vertices, -1, dtype=np.int16)
        names = tuple(str(n) for n in regions)
        if len(names) > np.iinfo(np.int16).max:
            raise ValueError(f"too many regions ({len(names)})")
        for k, name in enumerate(names):
            idx = np.asarray(regions[name]).reshape(-1)
            if idx.size and not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(f"region {name!r}: indices must be integers, got {idx.dtype}")
            if idx.size and (idx.min() < 0 or idx.max() >= n_vertices):
                raise ValueError(f"region {name!r}: indices outside [0, {n_vertices})")
            taken = labels[idx] >= 0
            if np.any(taken):
                other = names[int(labels[idx[taken][0]])]
                raise ValueError(
                    f"region {name!r} overlaps {other!r} (vertex {int(idx[taken][0])})"
                )
            labels[idx] = k
        return cls(names, labels, source)


def check_regions(value: Mapping[str, npt.ArrayLike] | None, n: int) -> dict[str, np.ndarray]:
    """Validated region name -> sorted, read-only int32 vertex indices.

    Raises:
        FaceModelError: non-integer indices, an index outside [0, n), or two
            regions sharing a vertex.
    """
    out: dict[str, np.ndarray] = {}
    seen = np.zeros(n, dtype=bool)
    for name, indices in (value or {}).items():
        idx = np.asarray(indices).reshape(-1)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise FaceModelError(f"region {name!r}: indices must be integers, got {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise FaceModelError(f"region {name!r}: indices outside [0, {n})")
        idx = np.unique(idx).astype(np.int32)
        if np.any(seen[idx]):
            raise FaceModelError(f"region {name!r} overlaps another region")
        seen[idx] = True
        idx.setflags(write=False)
        out[str(name)] = idx
    return out


def _landmark_points(
    vertices: npt.NDArray[np.float64], landmarks: Mapping[str, int] | npt.ArrayLike
) -> npt.NDArray[np.float64]:
    if isinstance(landmarks, Mapping):
        missing = [n for n in IBUG_NAMES if n not in landmarks]
        if missing:
            raise FaceModelError(
                f"landmark regions need the 68 ibug landmarks; {len(missing)} are missing "
                f"(first {missing[0]!r}); give the face model its ibug landmarks or regions"
            )
        idx = np.array([int(landmarks[n]) for n in IBUG_NAMES])
    else:
        arr = np.asarray(landmarks)
        if arr.shape == (68, 3):
            return np.asarray(arr, dtype=np.float64)
        if arr.shape != (68,) or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"landmarks must be (68,) indices or (68, 3) points, got {arr.shape}")
        idx = arr.astype(np.int64)
    if idx.min() < 0 or idx.max() >= len(vertices):
        raise IndexError(f"landmark indices must lie in [0, {len(vertices)})")
    return vertices[idx]


def face_frame(
    points68: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """The landmark face frame of step 1: (origin (3,), axes (3, 3) rows x, y, z, OICD).

    Raises:
        ValueError: degenerate landmarks (coinciding eye corners, chin on the eye line).
    """
    p = np.asarray(points68, dtype=np.float64)
    if p.shape != (68, 3):
        raise ValueError(f"expected (68, 3) landmark points, got {p.shape}")
    ex = p[45] - p[36]
    oicd = float(np.linalg.norm(ex))
    if not oicd > 0:
        raise ValueError("the outer eye corners (ibug 36, 45) coincide")
    ex /= oicd
    up = p[27] - p[8]
    ey = up - np.dot(up, ex) * ex
    ny = float(np.linalg.norm(ey))
    if not ny > 1e-6 * oicd:
        raise ValueError("the chin-to-nasion direction (ibug 8 -> 27) is parallel to the eyes")
    ey /= ny
    ez = np.cross(ex, ey)
    origin = 0.5 * (p[36] + p[45])
    if np.dot(p[30] - origin, ez) < 0:
        ez = -ez
    return origin, np.stack([ex, ey, ez]), oicd


def _seed_points(q68: npt.NDArray[np.float64], seeds: Sequence[Seed]) -> npt.NDArray[np.float64]:
    out = np.empty((len(seeds), 3))
    for k, (idx, (dx, dy, dz)) in enumerate(seeds):
        anchor = q68[list(idx)].mean(axis=0)
        out[k] = anchor + (np.sign(anchor[0]) * dx, dy, dz)
    return out


def landmark_regions(
    vertices: npt.ArrayLike,
    landmarks: Mapping[str, int] | npt.ArrayLike,
    *,
    exclude: npt.ArrayLike | None = None,
) -> Regions:
    """Regions :data:`REGION_NAMES` of a mesh from its 68 ibug landmarks (module docstring).

    Args:
        vertices: (N, 3) mesh (any unit, position and orientation), normally a
            face model's mean shape.
        landmarks: a landmark mapping with "ibug_00".."ibug_67" (vertex indices),
            68 vertex indices in ibug order, or (68, 3) landmark points.
        exclude: vertex indices (or an (N,) bool mask) never in a region, e.g.
            the eyeballs, teeth or mouth socket of a full-head model.

    Returns:
        :class:`Regions` with source "landmarks".

    Raises:
        FaceModelError: the mapping lacks ibug landmarks. ValueError: wrong shapes
        or degenerate landmarks. IndexError: an index outside the mesh.
    """
    from scipy.spatial import cKDTree

    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise ValueError(f"vertices must have shape (N, 3), got {v.shape}")
    origin, axes, oicd = face_frame(_landmark_points(v, landmarks))
    q = (v - origin) @ axes.T / oicd
    q68 = (_landmark_points(v, landmarks) - origin) @ axes.T / oicd
    seeds: list[npt.NDArray[np.float64]] = []
    owner: list[npt.NDArray[np.int16]] = []
    for k, name in enumerate(REGION_NAMES):
        pts = _seed_points(q68, REGION_SEEDS[name])
        seeds.append(pts)
        owner.append(np.full(len(pts), k, dtype=np.int16))
    outside = _seed_points(q68, OUTSIDE_SEEDS)
    seeds.append(outside)
    owner.append(np.full(len(outside), -1, dtype=np.int16))
    dist, nearest = cKDTree(np.concatenate(seeds)).query(q)
    labels = np.concatenate(owner)[nearest]
    labels[dist > MAX_SEED_DISTANCE] = -1
    if exclude is not None:
        ex = np.asarray(exclude)
        if ex.dtype == np.bool_:
            if ex.shape != (len(v),):
                raise ValueError(f"an exclude mask must have shape ({len(v)},), got {ex.shape}")
            labels[ex] = -1
        elif ex.size:
            ex = ex.reshape(-1)
            if not np.issubdtype(ex.dtype, np.integer) or ex.min() < 0 or ex.max() >= len(v):
                raise IndexError(f"exclude must hold vertex indices in [0, {len(v)})")
            labels[ex] = -1
    return Regions(REGION_NAMES, labels.astype(np.int16), "landmarks")


#: A model's own regions that are not skin of the face (left out of the facial regions).
NON_FACE_REGIONS: Final[tuple[str, ...]] = ("eyeballs", "head_neck", "teeth", "mouth_socket")


def model_regions(model: Any) -> Regions:
    """The facial regions of a face model: its own (``model.regions``) when it has
    evaluation regions, else :func:`landmark_regions` of its mean shape and ibug
    landmarks. A model whose own regions are structural parts (any of
    :data:`NON_FACE_REGIONS`, as the ICT head's eyeballs and neck) gets the landmark
    regions, with the vertices of those non-face parts left out.

    Args:
        model: a :class:`~cmp_edge.facemodel.model.FaceModel` (anything with ``mean``,
            ``landmarks`` and optionally a non-empty ``regions`` mapping).

    Raises:
        FaceModelError: no region information and not all 68 ibug landmarks.
    """
    mean = np.asarray(model.mean, dtype=np.float64)
    own = getattr(model, "regions", None) or {}
    if own and not set(own) & set(NON_FACE_REGIONS):
        return Regions.from_indices(own, len(mean), "model")
    skip = [np.asarray(own[name]) for name in NON_FACE_REGIONS if name in own]
    exclude = np.concatenate(skip) if skip else None
    return landmark_regions(mean, model.landmarks, exclude=exclude)
