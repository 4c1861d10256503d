"""The embedded synthetic default model: size, orthogonal ordered modes, geometry, landmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmp_edge.facemodel import ARE_PAIRS, FaceModel
from cmp_edge.facemodel.default import DEFAULT_ID, build_default


@pytest.fixture(scope="module")
def fm() -> FaceModel:
    return FaceModel.default()


def test_identity_and_sizes(fm: FaceModel) -> None:
    assert fm.id == DEFAULT_ID == "cmp-edge-synthetic-v1"
    assert 45_000 <= fm.n_vertices <= 55_000
    assert (fm.n_shape, fm.n_expr) == (40, 10)
    assert fm.shape_basis.shape == (3 * fm.n_vertices, 40)
    assert fm.mean.dtype == fm.shape_basis.dtype == fm.expr_basis.dtype == np.float32
    assert fm.triangles.dtype == np.int32 and fm.triangles.shape[1] == 3
    assert fm.units == "mm"
    assert FaceModel.default() is fm  # memoised


def test_modes_orthogonal_and_ordered(fm: FaceModel) -> None:
    norms = []
    for w in (fm.shape_basis.astype(np.float64), fm.expr_basis.astype(np.float64)):
        gram = w.T @ w
        n = np.sqrt(np.diag(gram))
        cos = gram / np.outer(n, n)
        assert np.abs(cos - np.eye(len(n))).max() < 1e-5
        norms.append(n)
    norms = np.concatenate(norms)
    assert np.all(np.diff(norms[:40]) < 0), "shape modes not ordered by variance"
    assert np.all(np.diff(norms[40:]) < 0), "expression modes not ordered by variance"
    assert fm.shape_names is not None and len(set(fm.shape_names)) == 40
    assert fm.expr_names is not None and fm.expr_names[0] == "mouth_open"
    assert {"face_width", "face_height", "nose_size", "chin"} <= set(fm.shape_names)
    assert {"smile", "brow_raise"} <= set(fm.expr_names)


def test_prior_gives_plausible_faces(fm: FaceModel) -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((8, 40))
    v = fm.reconstruct(a)
    disp = np.linalg.norm(v - fm.mean, axis=-1)
    assert 1.0 < disp.mean() < 15.0  # mm: faces differ, but stay faces
    assert disp.max() < 60.0


def test_geometry_scale_and_orientation(fm: FaceModel) -> None:
    lm, m = fm.landmarks, fm.mean
    face_width = m[lm["ibug_16"], 0] - m[lm["ibug_00"], 0]
    head_width = np.ptp(m[np.abs(m[:, 1] - 10.0) < 5.0][:, 0])  # includes the ears
    assert 130.0 < face_width < 160.0
    assert 140.0 < np.ptp(m[:, 0]) < 200.0 and head_width > face_width
    # y up: brows above the nose tip above the mouth above the chin
    y = {k: m[lm[k], 1] for k in ("ibug_19", "ibug_30", "ibug_62", "ibug_08")}
    assert y["ibug_19"] > y["ibug_30"] > y["ibug_62"] > y["ibug_08"]
    # +z out of the face: the nose tip is the most forward landmark
    assert m[lm["ibug_30"], 2] == max(m[lm[k], 2] for k in lm)
    # mirror symmetric mean (x -> -x)
    assert m[lm["oicd_left"], 0] == pytest.approx(-m[lm["oicd_right"], 0], abs=1e-3)
    assert m[lm["oicd_left"], 0] < 0  # "_left" is the viewer's left (-x)


def test_all_named_landmarks(fm: FaceModel) -> None:
    names = {f"ibug_{i:02d}" for i in range(68)}
    for pair in ARE_PAIRS:
        names |= {f"{pair}_left", f"{pair}_right"}
    assert names <= set(fm.landmarks)
    assert all(0 <= i < fm.n_vertices for i in fm.landmarks.values())
    assert fm.landmarks["oicd_left"] == fm.landmarks["ibug_36"]


def test_triangles_form_outward_surface(fm: FaceModel) -> None:
    tri, m = fm.triangles, fm.mean.astype(np.float64)
    assert tri.min() == 0 and tri.max() == fm.n_vertices - 1
    a, b, c = m[tri[:, 0]], m[tri[:, 1]], m[tri[:, 2]]
    normal = np.cross(b - a, c - a)
    area = 0.5 * np.linalg.norm(normal, axis=1)
    assert np.count_nonzero(area > 1e-9) > 0.99 * len(tri)
    centre = (a + b + c) / 3.0
    outward = np.einsum("ij,ij->i", normal, centre - m.mean(axis=0))
    assert np.mean(outward > 0) > 0.95
    # smooth: no long edges
    edge = np.linalg.norm(b - a, axis=1)
    assert np.percentile(edge, 99) < 5.0


def test_generation_is_deterministic(fm: FaceModel) -> None:
    again = build_default()  # fm may come from the disk cache: equal up to BLAS rounding
    np.testing.assert_array_equal(again.mean, fm.mean)
    np.testing.assert_allclose(again.shape_basis, fm.shape_basis, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(again.expr_basis, fm.expr_basis, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(again.triangles, fm.triangles)
    assert again.landmarks == fm.landmarks


def test_disk_cache_round_trip(tmp_path, fm: FaceModel) -> None:
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.facemodel.cache import load_or_build_default

    first = load_or_build_default(tmp_path, FaceModel)
    files = list(tmp_path.glob("cmp-edge-synthetic-v1-*.npz"))
    assert len(files) == 1
    second = load_or_build_default(tmp_path, FaceModel)  # from the cache, memory-mapped
    mapped = second.shape_basis
    while mapped is not None and not isinstance(mapped, np.memmap):
        mapped = mapped.base
    assert isinstance(mapped, np.memmap) and Path(mapped.filename) == files[0].resolve()
    for name in ("mean", "shape_basis", "expr_basis", "triangles"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))
        np.testing.assert_allclose(getattr(second, name), getattr(fm, name), rtol=1e-6, atol=1e-6)
    assert second.landmarks == fm.landmarks and second.expr_names == fm.expr_names
    files[0].write_bytes(b"garbage")  # a damaged cache is regenerated
    third = load_or_build_default(tmp_path, FaceModel)
    np.testing.assert_array_equal(third.mean, first.mean)


def test_cache_dir_setting(monkeypatch, tmp_path) -> None:
    from cmp_edge.facemodel.cache import default_cache_dir

    monkeypatch.setenv("CMP_EDGE_CACHE_DIR", "off")
    assert default_cache_dir() is None
    monkeypatch.setenv("CMP_EDGE_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("CMP_EDGE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "cmp-edge"


def test_expressions_move_the_right_parts(fm: FaceModel) -> None:
    lm = fm.landmarks
    e = np.zeros(10)
    e[0] = 1.0  # mouth_open
    v = fm.reconstruct(np.zeros(40), e)
    chin_drop = fm.mean[lm["ibug_08"], 1] - v[lm["ibug_08"], 1]
    brow_move = np.linalg.norm(v[lm["ibug_19"]] - fm.mean[lm["ibug_19"]])
    assert chin_drop > 3.0 and brow_move < 0.5
