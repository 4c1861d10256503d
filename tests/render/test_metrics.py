"""Metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from cmp_edge import metrics

# Ten width landmarks on a box-like point set: pair k sits at x = +-half[k].
NAMES = ["oicd", "ear", "forehead", "mid", "cheek"]
LANDMARKS = {
    f"{n}_{side}": 2 * k + (side == "right")
    for k, n in enumerate(NAMES)
    for side in ("left", "right")
}


def box(half_widths: dict[str, float], y_shift: float = 0.0) -> np.ndarray:
    verts = np.zeros((12, 3))
    for k, name in enumerate(NAMES):
        verts[2 * k] = (-half_widths[name], 10.0 * k + y_shift, 5.0)
        verts[2 * k + 1] = (half_widths[name], 10.0 * k + y_shift, 5.0)
    verts[10] = (0, 0, 40)  # extra vertices not used by the widths
    verts[11] = (0, 80, -40)
    return verts


REF = box({"oicd": 50, "ear": 75, "forehead": 60, "mid": 55, "cheek": 65})


def test_widths_and_ratios() -> None:
    w = metrics.widths(REF, LANDMARKS)
    assert w == pytest.approx({"OICD": 100, "ER": 150, "FR": 120, "MR": 110, "CR": 130})
    r = metrics.width_ratios(REF, LANDMARKS)
    assert r == pytest.approx({"ER": 1.5, "FR": 1.2, "MR": 1.1, "CR": 1.3})
    # ratios are invariant to scale, rotation and translation
    rot = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    assert metrics.width_ratios(3.0 * REF @ rot.T + 7, LANDMARKS) == pytest.approx(r)


def test_are_hand_case() -> None:
    pred = box({"oicd": 40, "ear": 64, "forehead": 48, "mid": 44, "cheek": 50})
    # pred ratios: ER 1.6, FR 1.2, MR 1.1, CR 1.25
    out = metrics.are(pred, REF, LANDMARKS)
    assert out == pytest.approx({"ER": 0.1, "FR": 0.0, "MR": 0.0, "CR": 0.05, "mean": 0.0375})
    assert metrics.are(REF, REF, LANDMARKS)["mean"] == 0.0


def test_bfm_landmarks_match_spec() -> None:
    lm = metrics.BFM_LANDMARKS
    assert (lm["oicd_left"], lm["oicd_right"]) == (2217, 14607)
    assert (lm["forehead_left"], lm["forehead_right"]) == (1678, 42117)
    assert (lm["cheek_left"], lm["cheek_right"]) == (2294, 13635)
    assert (lm["ear_left"], lm["ear_right"]) == (20636, 34153)
    assert (lm["mid_left"], lm["mid_right"]) == (2130, 15003)


def test_bfm_landmarks_have_one_source() -> None:
    import subprocess
    import sys

    from cmp_edge.facemodel import ARE_PAIRS
    from cmp_edge.facemodel.formats.synergynet import CMP_N_VERTICES, CMP_PAIRS, cmp_landmarks

    assert metrics.BFM_LANDMARKS == cmp_landmarks(CMP_N_VERTICES)
    assert tuple(CMP_PAIRS) == ARE_PAIRS
    code = "import sys, cmp_edge.metrics; print('cmp_edge.facemodel.model' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"  # the landmark table only, not FaceModel


def test_landmark_errors() -> None:
    with pytest.raises(ValueError, match="cheek_right"):
        metrics.widths(REF, {k: v for k, v in LANDMARKS.items() if k != "cheek_right"})
    with pytest.raises(IndexError, match="outside"):
        metrics.widths(REF, {**LANDMARKS, "ear_left": 99})
    with pytest.raises(ValueError, match="OICD is zero"):
        metrics.width_ratios(REF, {**LANDMARKS, "oicd_right": 0})
    with pytest.raises(ValueError, match="shape"):
        metrics.are(REF[:, :2], REF, LANDMARKS)


def test_aggregate_are_weights_identities_equally() -> None:
    def item(v: float) -> dict[str, float]:
        return {"ER": v, "FR": 2 * v, "MR": 0.0, "CR": 0.0, "mean": 0.75 * v}

    results = {
        "a": [item(1.0), item(3.0), item(5.0), item(100.0)],  # 4th utterance ignored -> 3
        "b": [item(1.0)],  # one utterance -> 1
    }
    out = metrics.aggregate_are(results)
    assert out == pytest.approx({"ER": 2.0, "FR": 4.0, "MR": 0.0, "CR": 0.0, "mean": 1.5})
    assert metrics.aggregate_are(results, max_utterances=1)["ER"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no utterances"):
        metrics.aggregate_are({"a": []})
    with pytest.raises(ValueError, match="lacks"):
        metrics.aggregate_are({"a": [{"ER": 1.0}]})


def _face68(rng: np.random.Generator) -> np.ndarray:
    pts = rng.uniform(-50, 50, (68, 3))
    pts[36] = (-45, 20, 0)  # outer eye corners: OICD = 90
    pts[45] = (45, 20, 0)
    return pts


def test_keypoint_rmse_hand_case() -> None:
    ref = np.zeros((68, 3))
    ref[:, 0] = np.linspace(-40, 40, 68)  # bbox w = 80
    ref[:, 1] = np.linspace(-10, 10, 68)  # bbox h = 20 -> sqrt(h w) = 40
    ref[36], ref[45] = (-40, 0, 0), (40, 0, 0)  # OICD 80 (bbox unchanged)
    pred = ref.copy()
    pred[:, 2] += 4.0  # every landmark 4 units off in z
    idx = np.arange(68)
    assert metrics.keypoint_rmse(pred, ref, idx) == pytest.approx(4.0 / 40.0)
    assert metrics.keypoint_rmse(pred, ref, idx, dims=2) == pytest.approx(0.0)
    # a uniformly scaled prediction is rescaled to the reference OICD first
    assert metrics.keypoint_rmse(2.5 * pred, ref, idx) == pytest.approx(0.1)
    # one landmark off by 68 ** 0.5 * 2 in x -> rmse 2
    off = ref.copy()
    off[10, 0] += 2 * math.sqrt(68)
    assert metrics.keypoint_rmse(off, ref, idx) == pytest.approx(2.0 / 40.0)


def test_keypoint_rmse_options_and_errors() -> None:
    rng = np.random.default_rng(0)
    ref = _face68(rng)
    verts_ref = np.concatenate([np.zeros((5, 3)), ref])  # landmarks are vertices 5..72
    idx = np.arange(5, 73)
    shifted = verts_ref + [3.0, 0, 0]
    # translation: counted by default, removed by align_centroid (scale is 1)
    assert metrics.keypoint_rmse(shifted, verts_ref, idx) > 0
    assert metrics.keypoint_rmse(shifted, verts_ref, idx, align_centroid=True) == pytest.approx(
        0.0, abs=1e-12
    )
    assert metrics.keypoint_rmse(verts_ref, verts_ref, idx[:10], oicd_pair=(41, 50)) == 0.0
    with pytest.raises(ValueError, match="68"):
        metrics.keypoint_rmse(verts_ref, verts_ref, idx[:10])
    with pytest.raises(IndexError):
        metrics.keypoint_rmse(verts_ref, verts_ref, idx + 1)
    with pytest.raises(ValueError, match="dims"):
        metrics.keypoint_rmse(verts_ref, verts_ref, idx, dims=1)


def test_keypoint_rmse_uses_the_named_oicd_pair() -> None:
    # 68 ibug points at vertices 0..67 plus a separate spec OICD pair at 68/69
    ref = np.zeros((70, 3))
    ref[:68, 0] = np.linspace(-40, 40, 68)
    ref[:68, 1] = np.linspace(-10, 10, 68)  # sqrt(h w) = 40
    ref[36], ref[45] = (-30, 0, 0), (30, 0, 0)  # ibug corners: 60 apart
    ref[68], ref[69] = (-50, 0, 5), (50, 0, 5)  # oicd_left/right: 100 apart
    lm = {f"ibug_{k:02d}": k for k in range(68)}
    # the prediction: landmarks scaled by 2, but the oicd pair only by 1.6
    pred = 2.0 * ref
    pred[68:] = 1.6 * ref[68:]
    by_ibug = metrics.keypoint_rmse(pred, ref, lm)  # no oicd names: ibug 36/45 fallback
    assert by_ibug == pytest.approx(0.0, abs=1e-12)
    assert metrics.keypoint_rmse(pred, ref, list(lm.values())) == by_ibug
    named = {**lm, "oicd_left": 68, "oicd_right": 69}
    # with the names, s = 100 / 160 and the landmarks end at 1.25 x the reference
    expect = 0.25 * math.sqrt(np.mean(np.sum(ref[:68] ** 2, axis=1))) / 40.0
    assert metrics.keypoint_rmse(pred, ref, named) == pytest.approx(expect)
    assert expect > 0.1
    # an explicit oicd_pair overrides the names
    assert metrics.keypoint_rmse(pred, ref, named, oicd_pair=(36, 45)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="68 ibug"):
        metrics.keypoint_rmse(pred, ref, {"oicd_left": 68, "oicd_right": 69})


def test_consistency_hand_case() -> None:
    base = np.zeros((4, 3))
    # speaker a: two meshes +-1 in x around its mean -> every distance is 1
    a = np.stack([base + [1, 0, 0], base - [1, 0, 0]])
    # speaker b: three meshes at distances 0, 3, 3 (z = 0, +3, -3) around mean at y = 4
    b = np.stack([base + [0, 4, 0], base + [0, 4, 3], base + [0, 4, -3]])
    out = metrics.consistency({"a": a, "b": b})
    d = np.array([1] * 8 + [0] * 4 + [3] * 8, dtype=float)
    assert out["within_mean"] == pytest.approx(d.mean())
    assert out["within_std"] == pytest.approx(d.std())
    assert out["per_speaker"]["a"] == pytest.approx({"mean": 1.0, "std": 0.0, "utterances": 2})
    assert out["per_speaker"]["b"]["mean"] == pytest.approx(2.0)
    # speaker means at y = 0 and y = 4: each 2 from the grand mean
    assert out["between_mean"] == pytest.approx(2.0)
    assert out["between_std"] == pytest.approx(0.0)
    assert out["ratio"] == pytest.approx(d.mean() / 2.0)
    np.testing.assert_allclose(out["within_per_vertex"], np.full(4, d.sum() / 5 / 4))
    np.testing.assert_allclose(out["between_per_vertex"], np.full(4, 2.0))


def test_consistency_edge_cases() -> None:
    one = metrics.consistency({"a": np.zeros((1, 5, 3)), "b": np.ones((1, 5, 3))})
    assert math.isnan(one["within_mean"]) and one["between_mean"] == pytest.approx(math.sqrt(3) / 2)
    solo = metrics.consistency({"a": np.random.default_rng(0).normal(size=(3, 5, 3))})
    assert solo["within_mean"] > 0 and math.isnan(solo["between_mean"])
    with pytest.raises(ValueError, match="vertices"):
        metrics.consistency({"a": np.zeros((2, 5, 3)), "b": np.zeros((2, 6, 3))})
    with pytest.raises(ValueError, match="no speakers"):
        metrics.consistency({})


def test_binomial_test() -> None:
    # P(X >= 8) for Binomial(10, 0.5) = (45 + 10 + 1) / 1024
    assert metrics.binomial_test(8, 10) == pytest.approx(56 / 1024)
    assert metrics.binomial_test(0, 10) == pytest.approx(1.0)
    assert metrics.binomial_test(70, 100, p=0.6) == pytest.approx(binom.sf(69, 100, 0.6))
    for bad in [(11, 10, 0.5), (-1, 10, 0.5), (1, 0, 0.5), (5, 10, 1.0), (2.5, 10, 0.5)]:
        with pytest.raises(ValueError):
            metrics.binomial_test(*bad)
