"""Geometry metrics of the Cross-Modal Perceptionist evaluation.

- :mod:`~cmp_edge.metrics.are`: the paper's line-based metric (ARE), the
  keypoint error, consistency and the preference study's binomial test.
- :mod:`~cmp_edge.metrics.registration`: point-based error after alignment
  (Procrustes for one topology, trimmed point-to-surface ICP otherwise).
- :mod:`~cmp_edge.metrics.regions`: region-based error over the face model's
  facial regions (:mod:`cmp_edge.facemodel.regions`).
- :mod:`~cmp_edge.metrics.compare`: :func:`compare_meshes` (a prediction against
  a reference, e.g. a scan) and :func:`load_mesh`.
- :mod:`~cmp_edge.metrics.heatmap`: pictures of a per-vertex error over a face.

Everything public is re-exported here (``from cmp_edge.metrics import are``).
Importing this package is cheap: trimesh, SciPy and the renderer are imported
by the functions that use them.
"""

from __future__ import annotations

from cmp_edge.metrics.are import (
    BFM_LANDMARKS,
    RATIO_NAMES,
    WIDTH_PAIRS,
    aggregate_are,
    are,
    binomial_test,
    consistency,
    keypoint_rmse,
    width_ratios,
    widths,
)
from cmp_edge.metrics.compare import MeshComparison, compare_meshes, load_mesh
from cmp_edge.metrics.heatmap import error_heatmap, heatmap_grid
from cmp_edge.metrics.regions import (
    REGION_NAMES,
    Regions,
    landmark_regions,
    model_regions,
    region_errors,
)
from cmp_edge.metrics.registration import (
    IcpResult,
    PointError,
    Similarity,
    icp,
    point_error,
    procrustes,
)
from cmp_edge.metrics.surface import closest_points

__all__ = [
    "BFM_LANDMARKS",
    "RATIO_NAMES",
    "REGION_NAMES",
    "WIDTH_PAIRS",
    "IcpResult",
    "MeshComparison",
    "PointError",
    "Regions",
    "Similarity",
    "aggregate_are",
    "are",
    "binomial_test",
    "closest_points",
    "compare_meshes",
    "consistency",
    "error_heatmap",
    "heatmap_grid",
    "icp",
    "keypoint_rmse",
    "landmark_regions",
    "load_mesh",
    "model_regions",
    "point_error",
    "procrustes",
    "region_errors",
    "width_ratios",
    "widths",
]
