"""Geometry metrics of the Cross-Modal Perceptionist evaluation.

- :mod:`cmp_edge.metrics.are`: the paper's line-based metric (ARE), the
  keypoint error, consistency and the preference study's binomial test.

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
