"""Region-based error: a per-vertex error summarised over each facial region.

The regions are those of the face model (:func:`cmp_edge.facemodel.regions.model_regions`:
the model's own region information, else regions bounded by its 68 ibug landmarks).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cmp_edge.facemodel.regions import REGION_NAMES, Regions, landmark_regions, model_regions

__all__ = ["REGION_NAMES", "Regions", "landmark_regions", "model_regions", "region_errors"]


def region_errors(per_vertex: npt.ArrayLike, regions: Regions) -> dict[str, dict[str, float]]:
    """Mean and median of a per-vertex error over each region, and over the whole face.

    Args:
        per_vertex: (N,) error of each vertex (e.g. :attr:`PointError.per_vertex`, mm).
        regions: a partition of the same N vertices.

    Returns:
        region name -> ``{"mean", "median", "vertices"}`` for every region with at
        least one vertex (in ``regions.names`` order), then ``"face"``: the same over
        all vertices in some region.

    Raises:
        ValueError: ``per_vertex`` is not (N,) or holds NaN inside a region.
    """
    err = np.asarray(per_vertex, dtype=np.float64)
    if err.shape != (regions.n_vertices,):
        raise ValueError(f"per_vertex must have shape ({regions.n_vertices},), got {err.shape}")
    if not np.all(np.isfinite(err[regions.face])):
        raise ValueError("per_vertex holds NaN or infinity inside the regions")
    out: dict[str, dict[str, float]] = {}
    for k, name in enumerate(regions.names):
        d = err[regions.labels == k]
        if d.size:
            out[name] = {"mean": float(d.mean()), "median": float(np.median(d)), "vertices": d.size}
    face = err[regions.face]
    if face.size:
        out["face"] = {
            "mean": float(face.mean()),
            "median": float(np.median(face)),
            "vertices": face.size,
        }
    return out
