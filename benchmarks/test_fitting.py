"""Landmark fitting speed: fit_landmarks on 1 and 5 images of the default model.

Run: ``python -m pytest benchmarks/test_fitting.py --benchmark-only``. Synthetic ibug
landmarks (random identity, expression and pose, 1 px noise), 12 alternation rounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cmp_edge.facemodel import FaceModel
from cmp_edge.fitting import fit_landmarks
from cmp_edge.fitting.accuracy import IMAGE, synthetic_views


@pytest.mark.parametrize("images", [1, 5, 20])
def test_fit_landmarks(benchmark: Any, images: int) -> None:
    fm = FaceModel.default()
    rng = np.random.default_rng(0)
    pts, _ = synthetic_views(fm, rng, rng.normal(size=fm.n_shape), images, 1.0)
    benchmark.group = "fit_landmarks"
    fit = benchmark(fit_landmarks, fm, pts, IMAGE)
    assert fit.n_images == images
