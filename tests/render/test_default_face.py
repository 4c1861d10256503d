"""Metrics and renders on the shipped default face model (its real topology and landmarks)."""

from __future__ import annotations

import numpy as np
import pytest

from cmp_edge import metrics
from cmp_edge.output import render


@pytest.fixture(scope="module")
def model():
    facemodel = pytest.importorskip("cmp_edge.facemodel")
    return facemodel.FaceModel.default()


def test_width_landmarks_and_ratios(model) -> None:
    ratios = metrics.width_ratios(model.mean, model.landmarks)
    assert set(ratios) == {"ER", "FR", "MR", "CR"}
    assert all(0.5 < r < 3.0 for r in ratios.values())
    widened = model.mean * np.array([1.1, 1.0, 1.0], dtype=np.float32)
    # widening x scales every width and the OICD alike: ratios unchanged
    assert metrics.are(widened, model.mean, model.landmarks)["mean"] == pytest.approx(0, abs=1e-3)
    # moving one ear outward by 10 % of the OICD changes ER only
    oicd = metrics.widths(model.mean, model.landmarks)["OICD"]
    moved = model.mean.copy()
    ear = model.landmarks["ear_right"]
    moved[ear] += (
        0.1
        * oicd
        * (moved[ear] - moved[model.landmarks["ear_left"]])
        / np.linalg.norm(moved[ear] - moved[model.landmarks["ear_left"]])
    )
    out = metrics.are(moved, model.mean, model.landmarks)
    assert out["ER"] == pytest.approx(0.1, rel=1e-4)
    assert out["FR"] == out["MR"] == out["CR"] == 0.0


def test_keypoints_present_and_zero_error(model) -> None:
    ibug = [model.landmarks.get(f"ibug_{k:02d}") for k in range(68)]
    if any(i is None for i in ibug):
        pytest.skip("the default model does not carry all 68 ibug landmarks")
    assert metrics.keypoint_rmse(model.mean, model.mean, ibug) == 0.0
    assert metrics.keypoint_rmse(1.3 * model.mean, model.mean, ibug) == pytest.approx(0, abs=1e-6)
    lm = model.landmarks
    assert metrics.keypoint_rmse(1.3 * model.mean, model.mean, lm) == pytest.approx(0, abs=1e-6)


def test_front_render_shows_a_face(model) -> None:
    depth = np.empty((128, 128), dtype=np.float32)
    image = render.render_mesh(model.mean, model.triangles, 128, background=(0, 0, 0), depth=depth)
    covered = np.isfinite(depth)
    assert 0.3 < covered.mean() < 0.9
    assert image[covered].mean() > 60  # lit, not black
    # the nose tip (largest z) is near the horizontal centre of the front view
    _, col = np.unravel_index(np.argmax(np.where(covered, depth, -np.inf)), depth.shape)
    assert abs(col - 63.5) < 8
