"""Vertex regions of the ICT Face Model Light and the rule that places the ARE pairs on it.

Regions (0-based inclusive vertex ranges, from the ICT-FaceKit documentation):
the face 0-9408, of which 0-6705 is the "narrow face area" (the rest of the
face region holds the ears, the sides of the face and the front of the neck),
head and neck 9409-11247, mouth socket 11248-13293, eye sockets 13294-14061,
gums and tongue 14062-17038, teeth 17039-21450, eyeballs 21451-24590, and the
lacrimal fluid, eye blend, eye occlusion and eyelash strips 24591-26718.

ARE pairs (spec section 4 defines them on the BFM topology; on the ICT
topology they are the nearest anatomical points, chosen on the mean head by
this rule, so widths from them are comparable in kind, not numerically, with
the paper's):

- ``oicd_*``: the outer eye corners, ibug 36 (left) and 45 (right);
- ``ear_*``: the most lateral skin vertex of each side within 3 mm of the
  height of ibug 0 / 16 (where the jaw contour meets the ear): the outer rim
  of the ear;
- ``forehead_*``, ``mid_*``, ``cheek_*``: the frontal silhouette at three
  heights, i.e. the most lateral skin vertex within 2.5 mm of that height among
  those in front of the jaw contour's ends (z >= the mean z of ibug 0 and
  16): the forehead 20 mm above the mean brow height (ibug 17-26), mid-face at
  the height of the nose bridge's lowest point ibug 29 (the cheekbones), and
  cheek at the height of the mouth corners ibug 48 / 54.

"_left" is the viewer's left in a frontal view (x < 0), as everywhere in cmp-edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import FaceModelError

__all__ = ["ARE_RULE_MM", "ICT_REGIONS", "are_landmarks", "region_indices"]

ICT_REGIONS: Final[dict[str, tuple[int, int]]] = {
    "face_narrow": (0, 6705),
    "face_outer": (6706, 9408),
    "head_neck": (9409, 11247),
    "mouth_socket": (11248, 13293),
    "eye_sockets": (13294, 14061),
    "gums_tongue": (14062, 17038),
    "teeth": (17039, 21450),
    "eyeballs": (21451, 24590),
    "eye_accessories": (24591, 26718),
}
"""Region name -> (first, last) vertex, inclusive, of the full ICT mesh (exclusive regions)."""

ARE_RULE_MM: Final[dict[str, float]] = {"band": 2.5, "ear_band": 3.0, "forehead_above_brow": 20.0}
"""The rule's distances (mm): half-height of the silhouette bands, and the forehead's height."""


def region_indices(n_vertices: int) -> dict[str, np.ndarray]:
    """Region name -> sorted (K,) int32 vertex indices of the full mesh, plus ``"skin"``
    (face and head/neck: the outer surface)."""
    out = {
        name: np.arange(lo, min(hi, n_vertices - 1) + 1, dtype=np.int32)
        for name, (lo, hi) in ICT_REGIONS.items()
    }
    out["skin"] = np.arange(0, min(ICT_REGIONS["head_neck"][1] + 1, n_vertices), dtype=np.int32)
    return out


def _lateral(
    v: np.ndarray, cand: np.ndarray, y0: float, band: float, what: str, where: str
) -> tuple[int, int]:
    """The leftmost (min x) and rightmost (max x) candidate within ``band`` of height y0."""
    near = cand[np.abs(v[cand, 1] - y0) <= band]
    left, right = near[v[near, 0] < 0], near[v[near, 0] > 0]
    if left.size == 0 or right.size == 0:
        raise FaceModelError(
            f"{where}: no skin vertices at the {what} height {y0:.1f} mm on both sides; "
            "not an ICT-topology head"
        )
    return int(left[np.argmin(v[left, 0])]), int(right[np.argmax(v[right, 0])])


def are_landmarks(
    vertices: npt.ArrayLike, ibug: Mapping[str, int], skin: npt.ArrayLike, where: str = "head"
) -> dict[str, int]:
    """The five ARE pairs on an ICT-topology head by the rule of the module doc.

    Args:
        vertices: (N, 3) mean head in mm (y up, +z out of the face, x < 0 on the viewer's left).
        ibug: at least ``ibug_00`` ... ``ibug_67`` -> vertex index.
        skin: (K,) indices of the outer-surface vertices to choose from.
        where: what the head is (e.g. its folder), first in error messages.

    Returns:
        ``{"oicd_left": i, "oicd_right": j, "ear_left": ..., ...}`` (10 entries).

    Raises:
        FaceModelError: a band holds no skin vertex on one side (not an ICT-like head).
    """
    v = np.asarray(vertices, dtype=np.float64)
    cand = np.asarray(skin, dtype=np.int64)
    p = {k: v[int(i)] for k, i in ibug.items()}

    def y(*ids: int) -> float:
        return float(np.mean([p[f"ibug_{i:02d}"][1] for i in ids]))

    z_front = float(np.mean([p["ibug_00"][2], p["ibug_16"][2]]))
    front = cand[v[cand, 2] >= z_front]
    band = ARE_RULE_MM["band"]
    pairs = {
        "oicd": (int(ibug["ibug_36"]), int(ibug["ibug_45"])),
        "ear": _lateral(v, cand, y(0, 16), ARE_RULE_MM["ear_band"], "ear", where),
        "forehead": _lateral(
            v,
            front,
            y(*range(17, 27)) + ARE_RULE_MM["forehead_above_brow"],
            band,
            "forehead",
            where,
        ),
        "mid": _lateral(v, front, y(29), band, "mid-face", where),
        "cheek": _lateral(v, front, y(48, 54), band, "cheek", where),
    }
    out: dict[str, int] = {}
    for name, (left, right) in pairs.items():
        out[f"{name}_left"], out[f"{name}_right"] = left, right
    return out
