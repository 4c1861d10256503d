"""Point-based error: Procrustes and ICP against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from cmp_edge import metrics
from cmp_edge.metrics import Similarity
from tests.metrics.meshes import face_grid, rotation


def symmetric_points() -> np.ndarray:
    """A 3 x 4 x 5 grid centred at the origin (symmetric under x, y, z -> -x, -y, -z)."""
    g = np.stack(
        np.meshgrid([-20.0, 0.0, 20.0], [-30.0, -10, 10, 30], [-40.0, -20, 0, 20, 40]), axis=-1
    )
    return g.reshape(-1, 3)


def test_rigid_motion_recovered_exactly() -> None:
    ref = np.random.default_rng(0).normal(size=(500, 3)) * 40
    r, t = rotation([0.3, -0.5, 0.2]), np.array([12.0, -7.0, 30.0])
    pred = ref @ r.T + t
    for scale in (False, True):
        err = metrics.point_error(pred, ref, scale=scale)
        assert err.mean < 1e-9 and err.median < 1e-9 and err.rms < 1e-9
        # pred is moved onto ref: the inverse motion
        np.testing.assert_allclose(err.alignment.rotation, r.T, atol=1e-12)
        np.testing.assert_allclose(err.alignment.translation, -r.T @ t, atol=1e-9)
        assert err.alignment.scale == pytest.approx(1.0, abs=1e-12)


def test_similarity_recovered_with_scale_only() -> None:
    ref = np.random.default_rng(1).normal(size=(300, 3)) * 40
    r = rotation([-0.2, 0.1, 0.4])
    pred = 1.25 * ref @ r.T + [1.0, 2.0, 3.0]
    scaled = metrics.point_error(pred, ref, scale=True)
    assert scaled.mean < 1e-9
    assert scaled.alignment.scale == pytest.approx(1 / 1.25, rel=1e-12)
    assert metrics.point_error(pred, ref, scale=False).mean > 1.0


def test_known_non_rigid_change_gives_known_error() -> None:
    # stretch z by (1 + e) of a point set symmetric about the origin: by symmetry the
    # best rigid alignment is the identity, so vertex i is off by e * |z_i|
    ref = symmetric_points()
    e = 0.1
    pred = ref * [1.0, 1.0, 1.0 + e]
    rigid = metrics.point_error(pred, ref)
    z = np.abs(ref[:, 2])
    assert rigid.mean == pytest.approx(e * z.mean(), rel=1e-9)
    assert rigid.median == pytest.approx(e * np.median(z), rel=1e-9)
    np.testing.assert_allclose(rigid.per_vertex, e * z, atol=1e-9)
    # with scale: s = sum(p . q) / sum(|p|^2) (rotation still the identity), then
    # vertex error |s p - q| with p the stretched and q the reference point
    s = np.sum(pred * ref) / np.sum(pred * pred)
    scaled = metrics.point_error(pred, ref, scale=True)
    assert scaled.alignment.scale == pytest.approx(s, rel=1e-9)
    np.testing.assert_allclose(scaled.per_vertex, np.linalg.norm(s * pred - ref, axis=1), atol=1e-9)
    assert scaled.rms < rigid.rms


def test_mask_limits_fit_and_statistics() -> None:
    ref = symmetric_points()
    pred = ref.copy()
    pred[0] += [0.0, 0.0, 500.0]  # one wild vertex outside the mask
    mask = np.ones(len(ref), bool)
    mask[0] = False
    err = metrics.point_error(pred, ref, mask=mask)
    assert err.mean < 1e-9 and err.used.sum() == len(ref) - 1
    assert err.per_vertex[0] == pytest.approx(500.0)


def test_procrustes_never_reflects() -> None:
    ref = np.random.default_rng(2).normal(size=(50, 3))
    mirrored = ref * [-1.0, 1.0, 1.0]
    fit = metrics.procrustes(mirrored, ref)
    assert np.linalg.det(fit.rotation) == pytest.approx(1.0)


def test_similarity_compose_and_matrix() -> None:
    a = Similarity(rotation([0.1, 0.2, 0.3]), np.array([1.0, 2, 3]), 1.5)
    b = Similarity(rotation([-0.3, 0.0, 0.5]), np.array([-4.0, 0, 2]), 0.5)
    p = np.random.default_rng(3).normal(size=(10, 3))
    np.testing.assert_allclose(a.then(b).apply(p), b.apply(a.apply(p)), atol=1e-12)
    back = Similarity.from_matrix(a.matrix)
    np.testing.assert_allclose(back.rotation, a.rotation, atol=1e-12)
    assert back.scale == pytest.approx(1.5)


def test_closest_points_match_trimesh_brute_force() -> None:
    import trimesh

    v, f = face_grid(8)
    rng = np.random.default_rng(4)
    q = v[rng.choice(len(v), 300, replace=False)] + rng.normal(size=(300, 3)) * 2.0
    closest, dist, _ = metrics.closest_points(q, v, f)
    ref_pts, ref_dist, _ = trimesh.proximity.closest_point_naive(
        trimesh.Trimesh(v, f, process=False), q
    )
    np.testing.assert_allclose(dist, ref_dist, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(closest - q, axis=1), dist, atol=1e-9)


@pytest.mark.parametrize("resolution", ["subdivided", "decimated"])
def test_icp_converges_across_resolutions(resolution: str) -> None:
    import trimesh

    ref_v, ref_f = face_grid(8)  # 25 x 32 vertices
    if resolution == "subdivided":  # every source vertex lies on the reference surface
        src, _ = trimesh.remesh.subdivide(ref_v, ref_f)
    else:  # a coarser grid: a subset of the reference's vertices
        src, _ = face_grid(16)
    r, t = rotation([0.08, -0.1, 0.06]), np.array([4.0, -3.0, 5.0])  # about 8 degrees
    moved = src @ r.T + t
    result = metrics.icp(moved, ref_v, ref_f, trim=0.0, tolerance=1e-9)
    assert result.converged
    assert result.error.mean < 1e-6
    np.testing.assert_allclose(result.error.alignment.rotation, r.T, atol=1e-6)
    np.testing.assert_allclose(result.error.alignment.apply(moved), src, atol=1e-5)


def test_icp_landmark_start_trimming_and_scale() -> None:
    ref_v, ref_f = face_grid(8)
    src = face_grid(16)[0]
    # a large rotation (about 40 degrees), a scale, and 5 % outliers
    r, t = rotation([0.5, 0.4, -0.3]), np.array([30.0, -10.0, 20.0])
    moved = 1.1 * src @ r.T + t
    outliers = np.arange(0, len(src), 20)
    moved[outliers] += [0.0, 0.0, 60.0]
    # landmarks: 12 corresponding points known on both meshes (not the outliers)
    lm = np.arange(3, len(src), len(src) // 12)[:12]
    start = metrics.procrustes(moved[lm], src[lm], scale=True)
    result = metrics.icp(moved, ref_v, ref_f, initial=start, scale=True, trim=0.1, tolerance=1e-9)
    assert result.error.alignment.scale == pytest.approx(1 / 1.1, rel=1e-6)
    inliers = np.setdiff1d(np.arange(len(src)), outliers)
    np.testing.assert_allclose(result.error.per_vertex[inliers], 0.0, atol=1e-5)
    assert not np.any(result.error.used[outliers])  # trimmed away
    assert result.error.mean < 1e-5


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        metrics.point_error(np.zeros((5, 3)), np.zeros((6, 3)))
    with pytest.raises(ValueError, match="trim"):
        metrics.icp(np.zeros((5, 3)), np.eye(3), [[0, 1, 2]], trim=0.95)
    with pytest.raises(ValueError, match="triangles"):
        metrics.closest_points(np.zeros((1, 3)), np.eye(3), [[0, 1, 5]])
    with pytest.raises(ValueError, match="NaN"):
        metrics.point_error(np.full((4, 3), np.nan), np.zeros((4, 3)))
