"""The one table of named landmarks: ibug-68 names and the ARE width pairs (spec section 4).

Landmark names on a :class:`~cmp_edge.facemodel.model.FaceModel`: "ibug_00" ..
"ibug_67" (the 68 ibug points, where the model knows them) and the ARE pairs
"<pair>_left"/"<pair>_right" for the pairs of :data:`ARE_PAIRS`; "_left" is the
first vertex of the published pair (the viewer's left in a frontal view).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ARE_PAIRS",
    "BFM_ARE_INDICES",
    "CMP_N_VERTICES",
    "IBUG_NAMES",
    "WIDTH_PAIRS",
    "bfm_are_landmarks",
]

ARE_PAIRS: Final[tuple[str, ...]] = ("oicd", "forehead", "cheek", "ear", "mid")
"""Names of the five left/right point pairs of the ARE metric (spec section 4)."""

WIDTH_PAIRS: Final[dict[str, tuple[str, str]]] = {
    "OICD": ("oicd_left", "oicd_right"),
    "ER": ("ear_left", "ear_right"),
    "FR": ("forehead_left", "forehead_right"),
    "MR": ("mid_left", "mid_right"),
    "CR": ("cheek_left", "cheek_right"),
}
"""Width name (as in the paper's tables) -> (left landmark name, right landmark name)."""

IBUG_NAMES: Final[tuple[str, ...]] = tuple(f"ibug_{i:02d}" for i in range(68))
"""Names of the 68 ibug landmarks, in ibug order (0-16 jaw, 17-26 brows, ...)."""

CMP_N_VERTICES: Final = 53215
"""Vertices of the BFM/3DDFA topology the published models use."""

BFM_ARE_INDICES: Final[dict[str, tuple[int, int]]] = {
    "oicd": (2217, 14607),
    "forehead": (1678, 42117),
    "cheek": (2294, 13635),
    "ear": (20636, 34153),
    "mid": (2130, 15003),
}
"""Spec section 4: left/right vertex indices of each ARE pair in the 53215-vertex topology."""


def bfm_are_landmarks(n_vertices: int) -> dict[str, int]:
    """The ARE landmarks by name for the 53215-vertex topology (empty for other sizes)."""
    if n_vertices != CMP_N_VERTICES:
        return {}
    out: dict[str, int] = {}
    for name, (left, right) in BFM_ARE_INDICES.items():
        out[f"{name}_left"], out[f"{name}_right"] = left, right
    return out
