"""The packaged default face model: the ICT-derived head, its recipe, landmarks and packaging."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.facemodel import ARE_PAIRS, FaceModel
from cmp_edge.facemodel.packaged import DEFAULT_ID, packaged_path

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fm() -> FaceModel:
    return FaceModel.default()


def _bases(arr: np.ndarray) -> list[object]:
    out = []
    while arr is not None:
        out.append(arr)
        arr = getattr(arr, "base", None)
    return out


def test_identity_sizes_and_packaging(fm: FaceModel) -> None:
    assert fm.id == DEFAULT_ID == "ict-facekit-head-v1"
    assert FaceModel.default() is fm  # memoised
    assert 10_000 <= fm.n_vertices <= 14_000 and (fm.n_shape, fm.n_expr) == (40, 10)
    assert fm.mean.dtype == fm.shape_basis.dtype == fm.expr_basis.dtype == np.float32
    assert fm.units == "mm" and fm.source_scale == 10.0
    path = packaged_path()
    assert path.stat().st_size <= 8_000_000
    # memory-mapped from the package, not copied
    for arr in (fm.mean, fm.shape_basis, fm.expr_basis):
        assert any(isinstance(b, np.memmap) for b in _bases(arr))
    notice = (path.parent / "ICT-FaceKit-LICENSE.txt").read_text()
    assert "Copyright (c) 2020 USC Institute for Creative Technologies" in notice
    assert "MIT License" in notice
    manifest = (REPO / "MANIFEST.in").read_text()
    assert "*.npz" in manifest and "*.txt" in manifest


def test_head_geometry(fm: FaceModel) -> None:
    m, lm = fm.mean.astype(np.float64), fm.landmarks
    assert {f"ibug_{i:02d}" for i in range(68)} <= set(lm)
    assert {f"{p}_{s}" for p in ARE_PAIRS for s in ("left", "right")} <= set(lm)
    # y up, +z out of the face, viewer's left at x < 0
    assert m[lm["ibug_19"], 1] > m[lm["ibug_30"], 1] > m[lm["ibug_62"], 1] > m[lm["ibug_08"], 1]
    assert m[lm["ibug_30"], 2] == max(m[lm[f"ibug_{i:02d}"], 2] for i in range(68))
    assert m[lm["oicd_left"], 0] < 0 < m[lm["oicd_right"], 0]
    # the neck is cut 30 mm below the chin; the skull top is kept
    assert m[:, 1].min() > m[lm["ibug_08"], 1] - 31.0
    assert m[:, 1].max() - m[lm["ibug_08"], 1] > 200.0
    # triangles: every vertex used, outward-facing on the skin
    assert np.array_equal(np.unique(fm.triangles), np.arange(fm.n_vertices))
    skin = np.zeros(fm.n_vertices, dtype=bool)
    skin[np.concatenate([fm.regions[k] for k in ("face_narrow", "face_outer", "head_neck")])] = 1
    t = fm.triangles[skin[fm.triangles].all(axis=1)]
    a, b, c = m[t[:, 0]], m[t[:, 1]], m[t[:, 2]]
    normal = np.cross(b - a, c - a)
    centre = np.array([0.0, m[lm["ibug_27"], 1], 0.0])
    outward = np.einsum("ij,ij->i", normal, (a + b + c) / 3 - centre) > 0
    area = np.linalg.norm(normal, axis=1)
    assert area[outward].sum() > 0.9 * area.sum()  # by area: ears and nostrils fold back


def test_are_widths_are_human(fm: FaceModel) -> None:
    from cmp_edge import metrics

    w = metrics.widths(fm.mean, fm.landmarks)
    assert 140.0 <= w["ER"] <= 190.0  # ear to ear, with the ears
    assert 85.0 <= w["OICD"] <= 100.0  # outer eye corners
    assert w["ER"] > max(w["FR"], w["MR"], w["CR"])
    ratios = metrics.width_ratios(fm.mean, fm.landmarks)
    assert all(1.2 < r < 2.2 for r in ratios.values())


def test_regions(fm: FaceModel) -> None:
    assert set(fm.regions) == {"face_narrow", "face_outer", "head_neck", "eyeballs"}
    allv = np.concatenate(list(fm.regions.values()))
    assert np.array_equal(np.sort(allv), np.arange(fm.n_vertices))  # a partition
    eyes = fm.mean[fm.regions["eyeballs"]]
    oicd = fm.mean[[fm.landmarks["oicd_left"], fm.landmarks["oicd_right"]]]
    assert np.all(np.abs(eyes[:, 0]) < np.abs(oicd[:, 0]).max() + 3.0)  # behind the eyelids
    assert all(
        int(fm.landmarks[f"ibug_{i:02d}"]) in set(fm.regions["face_narrow"]) for i in range(68)
    )


def test_prior_and_expressions(fm: FaceModel) -> None:
    rng = np.random.default_rng(1)
    v = fm.reconstruct(rng.standard_normal((8, 40)))
    disp = np.linalg.norm(v - fm.mean, axis=-1)
    assert 1.0 < disp.mean() < 15.0 and disp.max() < 60.0
    assert fm.expr_names is not None and len(set(fm.expr_names)) == 10
    assert fm.expr_names[0].startswith("jawOpen")
    e = np.zeros(10)
    e[0] = 1.0
    moved = fm.reconstruct(np.zeros(40), e)
    lm = fm.landmarks
    assert fm.mean[lm["ibug_08"], 1] - moved[lm["ibug_08"], 1] > 3.0  # the jaw drops
    assert np.linalg.norm(moved[lm["ibug_39"]] - fm.mean[lm["ibug_39"]]) < 1.0
    # expression modes are orthogonal on the skin and ordered by variance
    skin = np.sort(
        np.concatenate([fm.regions[k] for k in ("face_narrow", "face_outer", "head_neck")])
    )
    rows = (3 * skin[:, None] + np.arange(3)).ravel()
    w = fm.expr_basis[rows].astype(np.float64)
    gram = w.T @ w
    n = np.sqrt(np.diag(gram))
    assert np.abs(gram / np.outer(n, n) - np.eye(10)).max() < 1e-4
    assert np.all(np.diff(n) < 0)


@pytest.fixture(scope="module")
def ict_dir(shared_data: Path) -> Path:
    folder = shared_data / "ict-facekit" / "FaceXModel"
    if not folder.is_dir():
        pytest.skip("../shared/data/ict-facekit is absent")
    return folder


@pytest.mark.slow
def test_packaged_head_is_the_recipe_output(fm: FaceModel, ict_dir: Path) -> None:
    from cmp_edge.facemodel.formats.ict import read_obj_vertices
    from cmp_edge.facemodel.ict_head import build_head

    built = FaceModel(**build_head(ict_dir))
    np.testing.assert_array_equal(built.triangles, fm.triangles)
    assert built.landmarks == fm.landmarks and built.expr_names == fm.expr_names
    for name in ("mean", "shape_basis", "expr_basis"):
        np.testing.assert_allclose(getattr(built, name), getattr(fm, name), rtol=0, atol=1e-4)
    assert {k: v.tolist() for k, v in built.regions.items()} == {
        k: v.tolist() for k, v in fm.regions.items()
    }
    # independent of the recipe's code: find each kept vertex in the neutral mesh
    neutral = read_obj_vertices(ict_dir / "generic_neutral_mesh.obj") * 10.0
    from scipy.spatial import cKDTree

    dist, near = cKDTree(neutral).query(fm.mean.astype(np.float64), k=2)
    assert dist[:, 0].max() < 1e-3  # mean = neutral x 10 at the kept vertices
    kept = near[:, 0]
    # ICT has coincident vertices (seams) whose modes differ slightly: compare the others
    unique = dist[:, 1] > 1e-3
    assert unique.mean() > 0.9
    meta = json.loads((ict_dir / "vertex_indices.json").read_text())
    assert [int(kept[fm.landmarks[f"ibug_{i:02d}"]]) for i in range(68)] == meta[
        "idx_to_landmark_verts"
    ]
    rows = (3 * kept[:, None] + np.arange(3)).ravel()
    sel = np.repeat(unique, 3)
    for i in (0, 7, 39):  # mode i = (identity_i - neutral) x 10
        ident = read_obj_vertices(ict_dir / f"identity{i:03d}.obj") * 10.0
        np.testing.assert_allclose(
            fm.shape_basis[sel, i], (ident - neutral).reshape(-1)[rows][sel], rtol=0, atol=1e-4
        )
    # each expression mode is a combination of the blendshapes
    blend = np.stack(
        [
            (read_obj_vertices(ict_dir / f"{n}.obj") * 10.0 - neutral).reshape(-1)[rows]
            for n in meta["expressions"]
        ],
        axis=1,
    )
    target = fm.expr_basis[sel].astype(np.float64)
    coef, *_ = np.linalg.lstsq(blend[sel], target, rcond=None)
    assert np.abs(blend[sel] @ coef - target).max() < 1e-3
