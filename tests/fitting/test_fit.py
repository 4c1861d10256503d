"""fit_landmarks on synthetic faces of the default model: reprojection, whole-head shape
error against the planted identity, joint fits, outliers, conventions and errors."""

from __future__ import annotations

import numpy as np
import pytest

from cmp_edge.errors import FittingError
from cmp_edge.facemodel import FaceModel
from cmp_edge.fitting import euler_rotation, fit_landmarks, rotation_angles
from cmp_edge.fitting.accuracy import IMAGE, SCALE, run_trials, synthetic_views
from cmp_edge.fitting.camera import estimate_pose
from cmp_edge.fitting.synthetic import project_landmarks, scaled_vertex_rmse


@pytest.fixture(scope="module")
def fm() -> FaceModel:
    return FaceModel.default()


def test_euler_angles_round_trip() -> None:
    for yaw, pitch, roll in ((30.0, -10.0, 5.0), (-45.0, 12.0, -8.0), (0.0, 0.0, 0.0)):
        r = euler_rotation(yaw, pitch, roll)
        assert np.allclose(r @ r.T, np.eye(3)) and np.isclose(np.linalg.det(r), 1.0)
        assert np.allclose(rotation_angles(r), (yaw, pitch, roll), atol=1e-9)
    # positive yaw turns the nose (+z) toward +x, the image right
    assert euler_rotation(30.0)[0, 2] > 0


def test_estimate_pose_is_exact_without_noise() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(30, 3)) * 50
    r = euler_rotation(25.0, -8.0, 4.0)
    x = 1.7 * v @ r[:2].T + np.array([300.0, 200.0])
    r_est, s_est, t_est = estimate_pose(v, x)
    assert np.allclose(r_est, r, atol=1e-9)
    assert s_est == pytest.approx(1.7) and np.allclose(t_est, (300.0, 200.0))


def test_reprojection_and_pose_at_noise_level(fm: FaceModel) -> None:
    trials = run_trials(fm, 4, seed=3, noise_px=1.0)
    rms = np.array([t.rms_px_one for t in trials] + [t.rms_px_five for t in trials])
    # residuals of a correct fit are at the noise level (1 px), not larger
    # rms_px is the RMS of the 2D distance: sqrt(2) sigma for per-axis noise sigma
    assert np.all(rms > 0.5) and np.all(rms < 1.5 * np.sqrt(2.0)), rms
    assert max(t.yaw_error_deg for t in trials) < 8.0


def test_whole_head_error_one_and_five_images(fm: FaceModel) -> None:
    trials = run_trials(fm, 6, seed=0, noise_px=1.0)
    mean_face = np.mean([t.mean_face for t in trials])
    one = np.mean([t.one_image for t in trials])
    five = np.mean([t.five_images for t in trials])
    assert one < 0.7 * mean_face, (one, mean_face)
    assert five < one, (five, one)
    assert five < 0.55 * mean_face, (five, mean_face)


def test_outliers_do_not_ruin_the_fit(fm: FaceModel) -> None:
    robust = run_trials(fm, 4, seed=5, noise_px=1.0, outliers=5)
    plain = run_trials(fm, 4, seed=5, noise_px=1.0, outliers=5, robust=False)
    mean_face = np.mean([t.mean_face for t in robust])
    err = np.mean([t.one_image for t in robust])
    assert err < 0.7 * mean_face
    assert err < np.mean([t.one_image for t in plain])
    assert np.mean([t.five_images for t in robust]) < 0.6 * mean_face


def test_outlier_weights_flag_the_moved_landmarks(fm: FaceModel) -> None:
    rng = np.random.default_rng(7)
    shape = rng.normal(size=fm.n_shape)
    pts, _ = synthetic_views(fm, rng, shape, 1, noise_px=0.5)
    moved = [5, 30, 48]
    pts[0, moved] += 40.0
    fit = fit_landmarks(fm, pts[0], IMAGE)
    assert set(np.argsort(fit.weights[0])[:3]) == set(moved)
    assert np.median(fit.residuals_px[0]) < 2.0


def test_fitted_points_follow_the_documented_pose(fm: FaceModel) -> None:
    rng = np.random.default_rng(2)
    shape = rng.normal(size=fm.n_shape)
    r = euler_rotation(-35.0, 5.0, 3.0)
    pts = project_landmarks(fm, shape, None, r, SCALE, (330.0, 250.0, 0.0), IMAGE)
    fit = fit_landmarks(fm, pts, IMAGE, landmark_std=0.005)
    v = fit.vertices(fm, 0).astype(np.float64)[fit.vertex_index[0]]
    p = fit.scale[0] * v @ fit.rotation[0].T + fit.translation[0]
    assert np.allclose(p[:, 0], fit.fitted_px[0, :, 0])
    assert np.allclose(IMAGE[1] - p[:, 1], fit.fitted_px[0, :, 1])
    assert np.sqrt(np.mean(np.sum((fit.fitted_px[0] - pts) ** 2, axis=1))) == pytest.approx(
        fit.rms_px[0]
    )
    assert fit.rms_px[0] < 1.0 and fit.nme[0] < 0.01
    assert rotation_angles(fit.rotation[0])[0] == pytest.approx(-35.0, abs=4.0)


def test_contour_matters_for_turned_faces(fm: FaceModel) -> None:
    rng = np.random.default_rng(4)
    shape = rng.normal(size=fm.n_shape)
    pts = project_landmarks(fm, shape, None, euler_rotation(40.0), SCALE, (320, 240, 0), IMAGE)
    with_c = fit_landmarks(fm, pts, IMAGE, landmark_std=0.005)
    without = fit_landmarks(fm, pts, IMAGE, landmark_std=0.005, contour=False, robust=False)
    assert with_c.rms_px[0] < 0.5 * without.rms_px[0]
    truth = fm.reconstruct(shape)
    assert scaled_vertex_rmse(with_c.neutral_vertices(fm), truth) < scaled_vertex_rmse(
        without.neutral_vertices(fm), truth
    )


def test_missing_landmarks_as_nan(fm: FaceModel) -> None:
    rng = np.random.default_rng(6)
    shape = rng.normal(size=fm.n_shape)
    pts = project_landmarks(fm, shape, None, euler_rotation(10.0), SCALE, (320, 240, 0), IMAGE)
    pts[:17] = np.nan
    fit = fit_landmarks(fm, pts, IMAGE, landmark_std=0.005)
    assert np.all(fit.weights[0, :17] == 0) and np.all(np.isnan(fit.residuals_px[0, :17]))
    assert np.isfinite(fit.rms_px[0]) and fit.rms_px[0] < 1.0


def test_bad_inputs_raise(fm: FaceModel) -> None:
    good = np.zeros((68, 2))
    with pytest.raises(FittingError, match="68, 2"):
        fit_landmarks(fm, np.zeros((67, 2)), IMAGE)
    with pytest.raises(FittingError, match="image_size"):
        fit_landmarks(fm, good, (0, 10))
    with pytest.raises(FittingError, match="valid landmarks"):
        fit_landmarks(fm, np.full((68, 2), np.nan), IMAGE)
    with pytest.raises(FittingError, match="infinity"):
        fit_landmarks(fm, np.full((68, 2), np.inf), IMAGE)
    bare = FaceModel(fm.mean, fm.shape_basis, fm.expr_basis, fm.triangles, landmarks={})
    with pytest.raises(FittingError, match="ibug"):
        fit_landmarks(bare, good, IMAGE)
    with pytest.raises(FittingError, match="n_shape"):
        fit_landmarks(fm, good, IMAGE, n_shape=fm.n_shape + 1)


def test_overlay_covers_the_face_where_the_landmarks_are(fm: FaceModel) -> None:
    from cmp_edge.output.fitplot import FITTED, draw_fit

    rng = np.random.default_rng(8)
    shape = rng.normal(size=fm.n_shape)
    pts = project_landmarks(fm, shape, None, euler_rotation(20.0), 1.0, (160, 120, 0), (320, 240))
    fit = fit_landmarks(fm, pts, (320, 240), landmark_std=0.005)
    blank = np.zeros((240, 320, 3), dtype=np.uint8)
    img = draw_fit(blank, fm, fit, alpha=1.0)
    covered = img.sum(axis=2) > 0
    # the mesh is drawn where the landmarks are: nose tip, eye corners, mouth corners
    for k in (30, 36, 45, 48, 54):
        x, y = np.round(pts[k]).astype(int)
        assert covered[y, x + 4] or covered[y, x - 4]
    assert np.all(img[int(round(pts[30, 1])), int(round(pts[30, 0]))] == FITTED)
    # and not in the image corners
    assert not covered[:10, :10].any() and not covered[-10:, -10:].any()


def test_models_without_jaw_landmarks(fm: FaceModel) -> None:
    jawless = {k: v for k, v in fm.landmarks.items() if k not in _JAW_NAMES}
    part = FaceModel(fm.mean, fm.shape_basis, fm.expr_basis, fm.triangles, landmarks=jawless)
    rng = np.random.default_rng(9)
    shape = rng.normal(size=fm.n_shape)
    pts = project_landmarks(part, shape, None, euler_rotation(25.0), SCALE, (320, 240, 0), IMAGE)
    assert np.isnan(pts[:8]).all() and np.isfinite(pts[17:]).all()
    fit = fit_landmarks(part, pts, IMAGE, landmark_std=0.005)
    assert np.all(fit.weights[0, :8] == 0) and fit.rms_px[0] < 1.0
    assert scaled_vertex_rmse(fit.neutral_vertices(part), fm.reconstruct(shape)) < (
        scaled_vertex_rmse(fm.mean, fm.reconstruct(shape))
    )


def test_surrey_face_model(shared_data) -> None:  # noqa: ANN001 - fixture
    sfm = FaceModel.load(shared_data / "sfm" / "sfm_shape_3448.bin")
    # its expressions are blendshapes (weights 0-1), so keep them small
    trials = run_trials(sfm, 3, seed=1, noise_px=1.0, expr_scale=0.1)
    mean_face = np.mean([t.mean_face for t in trials])
    assert np.mean([t.one_image for t in trials]) < 0.8 * mean_face
    assert np.mean([t.five_images for t in trials]) < 0.6 * mean_face


_JAW_NAMES = {f"ibug_{k:02d}" for k in range(17) if k != 8}
