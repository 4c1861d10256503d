"""Point-based and region-based errors for :mod:`train.evaluate`.

For each prediction and its reference (both of the face model's topology, in mm)
the face's vertices (those in a facial region of
:func:`cmp_edge.facemodel.regions.model_regions`) are aligned by Procrustes,
rigidly ("rigid": rotation + translation) and with an isotropic scale ("scaled"),
and the point-to-point distance of every face vertex is measured
(:func:`cmp_edge.metrics.point_error`). Mean and median over the face, and the mean
over each region (:func:`cmp_edge.metrics.region_errors`), are averaged over the
utterances of an identity, then over identities (as ARE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge import metrics
from cmp_edge.metrics import Regions

__all__ = ["PointAccumulator", "model_regions_or_none", "write_heatmap"]

ALIGNMENTS = ("rigid", "scaled")


def model_regions_or_none(fm: Any) -> Regions | None:
    """The face model's regions, or None when it has neither regions nor ibug landmarks."""
    from cmp_edge.errors import FaceModelError

    try:
        return metrics.model_regions(fm)
    except FaceModelError:
        return None


class PointAccumulator:
    """Collects point and region errors of one method over the test identities."""

    def __init__(self, regions: Regions | None, n_vertices: int) -> None:
        self.regions = regions
        self.n = n_vertices
        self.stats: dict[str, list[list[float]]] = {a: [] for a in ALIGNMENTS}  # [mean, median]
        self.region_means: dict[str, list[dict[str, float]]] = {a: [] for a in ALIGNMENTS}
        self.maps: list[np.ndarray] = []

    def add(self, preds: Sequence[np.ndarray], ref: np.ndarray) -> None:
        """One identity: its predictions (U, n, 3) against its reference (n, 3)."""
        per_utt: dict[str, list[metrics.PointError]] = {
            "rigid": [metrics.point_error(p, ref, scale=False) for p in preds],
            "scaled": [metrics.point_error(p, ref, scale=True) for p in preds],
        }
        for a, errs in per_utt.items():
            self.stats[a].append(
                [float(np.mean([e.mean for e in errs])), float(np.mean([e.median for e in errs]))]
            )
            if self.regions is not None:
                rows = [metrics.region_errors(e.per_vertex, self.regions) for e in errs]
                names = [n for n in rows[0] if n != "face"]
                self.region_means[a].append(
                    {n: float(np.mean([r[n]["mean"] for r in rows])) for n in names}
                )
        self.maps.append(np.mean([e.per_vertex for e in per_utt["rigid"]], axis=0))

    def summary(self) -> dict[str, dict[str, float]]:
        """``{"rigid": {"mean", "median"}, "scaled": {...}}`` in mm."""
        out = {}
        for a in ALIGNMENTS:
            arr = np.asarray(self.stats[a])
            out[a] = {"mean": float(arr[:, 0].mean()), "median": float(arr[:, 1].mean())}
        return out

    def region_summary(self) -> dict[str, dict[str, float]] | None:
        """``{"rigid": {region: mean mm}, "scaled": {...}}``, or None without regions."""
        if self.regions is None:
            return None
        out: dict[str, dict[str, float]] = {}
        for a in ALIGNMENTS:
            rows = self.region_means[a]
            out[a] = {n: float(np.mean([r[n] for r in rows])) for n in rows[0]}
        return out

    def per_vertex(self) -> np.ndarray:
        """(n,) mean rigid error of each face vertex over identities (mm)."""
        return np.asarray(np.mean(self.maps, axis=0))


def write_heatmap(
    path: Path, fm: Any, face_idx: np.ndarray, maps: Mapping[str, np.ndarray], size: int = 256
) -> dict[str, Any]:
    """Write one front | side heat map per method (rows, in order) on the mean face.

    Colours share one scale, 0 mm (dark blue) to ``vmax_mm`` (red; the 99th
    percentile over all methods); grey: outside the evaluated face.

    Returns:
        ``{"path", "methods" (row order), "vmax_mm", "alignment": "rigid"}``.
    """
    from cmp_edge.output.render import write_png

    values = np.concatenate([np.asarray(m) for m in maps.values()])
    vmax = float(np.percentile(values, 99)) if values.size else 1.0
    images = []
    for per_vertex in maps.values():
        full = np.full(np.asarray(fm.mean).reshape(-1, 3).shape[0], np.nan)
        full[face_idx] = per_vertex
        images.append(metrics.error_heatmap(fm.mean, fm.triangles, full, vmax=vmax, size=size))
    write_png(path, metrics.heatmap_grid(images, columns=1))
    return {"path": str(path), "methods": list(maps), "vmax_mm": vmax, "alignment": "rigid"}
