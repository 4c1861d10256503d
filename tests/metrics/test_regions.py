"""Facial regions: a partition of the face, placed by the landmarks; region errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmp_edge import metrics
from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel import FaceModel
from cmp_edge.facemodel.regions import (
    NON_FACE_REGIONS,
    REGION_NAMES,
    Regions,
    landmark_regions,
    model_regions,
)
from tests.metrics.meshes import rotation


@pytest.fixture(scope="module")
def default_regions() -> tuple[FaceModel, Regions]:
    fm = FaceModel.default()
    return fm, model_regions(fm)


def _inside(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test (2-D), vectorised over points."""
    inside = np.zeros(len(pts), bool)
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        crosses = (y0 > pts[:, 1]) != (y1 > pts[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x0 + (pts[:, 1] - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (pts[:, 0] < xc)
    return inside


def test_regions_partition_the_face(default_regions: tuple[FaceModel, Regions]) -> None:
    fm, reg = default_regions
    assert reg.names == REGION_NAMES and reg.source == "landmarks"
    parts = reg.as_dict()
    sizes = {n: len(ix) for n, ix in parts.items()}
    assert all(s > 200 for s in sizes.values()), sizes
    # no overlap and nothing else: the regions' union is exactly the face
    union = np.concatenate(list(parts.values()))
    assert len(np.unique(union)) == len(union) == int(reg.face.sum())
    # coverage: every vertex in front of the jaw line's upper ends (ibug 0, 16) and
    # inside the landmark outline (jaw 0-16, then the brows 26..17 raised by half the
    # OICD) seen from the front is in some region
    v = np.asarray(fm.mean, dtype=np.float64)
    lm = np.array([v[fm.landmarks[f"ibug_{i:02d}"]] for i in range(68)])
    oicd = np.linalg.norm(lm[45] - lm[36])
    brows = lm[26:16:-1, :2] + [0.0, 0.5 * oicd]
    outline = np.concatenate([lm[:17, :2], brows])
    front = (v[:, 2] > lm[0, 2]) & _inside(outline, v[:, :2])
    for name in NON_FACE_REGIONS:  # the eyeballs are not skin of the face
        front[fm.regions.get(name, [])] = False
    assert front.sum() > 0.4 * len(v)
    assert np.all(reg.face[front])


def test_landmarks_fall_in_their_regions(default_regions: tuple[FaceModel, Regions]) -> None:
    fm, reg = default_regions

    def label(i: int) -> str:
        return reg.names[int(reg.labels[fm.landmarks[f"ibug_{i:02d}"]])]

    assert {label(i) for i in range(36, 48)} == {"eyes"}
    assert {label(i) for i in range(30, 36)} == {"nose"}
    assert {label(i) for i in range(48, 68)} == {"mouth"}
    assert label(8) == "chin"
    assert {label(i) for i in (4, 5, 11, 12)} == {"jaw"}
    # the ARE ear and forehead points lie in the ears and the forehead
    assert reg.names[reg.labels[fm.landmarks["ear_left"]]] == "ears"
    assert reg.names[reg.labels[fm.landmarks["forehead_right"]]] == "forehead"


#: ibug-68 index of each landmark's mirror image (left <-> right).
IBUG_MIRROR = np.array(
    [*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, 35, 34, 33, 32, 31,
     45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
     54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65]
)  # fmt: skip


def test_regions_are_mirror_symmetric() -> None:
    from tests.metrics.meshes import N_PHI, N_THETA, head_grid

    # a symmetric grid surface with ibug-like landmarks placed symmetrically
    fm = FaceModel.default()
    grid = head_grid()
    flat = grid.reshape(-1, 3)
    # the default model's ibug points, mirrored pairs averaged, moved to the nearest grid
    # vertex: landmark positions symmetric in x on a surface symmetric in x
    pts = np.asarray(fm.mean, np.float64)[[fm.landmarks[f"ibug_{i:02d}"] for i in range(68)]]
    pts = pts * [75.0, 100.0, 90.0] / np.abs(pts).max(axis=0)
    mirrored = pts * [-1.0, 1.0, 1.0]
    pairs = IBUG_MIRROR
    sym = 0.5 * (pts + mirrored[pairs])
    idx = np.array([np.argmin(np.linalg.norm(flat - p, axis=1)) for p in sym])
    reg = landmark_regions(flat, idx)
    labels = reg.labels.reshape(N_PHI, N_THETA)
    assert np.mean(labels == labels[:, ::-1]) > 0.99


def test_regions_ignore_pose_scale_and_unit(default_regions: tuple[FaceModel, Regions]) -> None:
    fm, _ = default_regions
    reg = landmark_regions(fm.mean, fm.landmarks)
    moved = 0.1 * np.asarray(fm.mean, np.float64) @ rotation([0.4, -0.3, 1.2]).T + [5, -2, 9]
    again = landmark_regions(moved, fm.landmarks)
    assert np.mean(again.labels == reg.labels) > 0.9999


def test_exclude_and_points_input(default_regions: tuple[FaceModel, Regions]) -> None:
    fm, _ = default_regions
    reg = landmark_regions(fm.mean, fm.landmarks)
    nose = reg.indices("nose")
    lm = np.array([fm.landmarks[f"ibug_{i:02d}"] for i in range(68)])
    out = landmark_regions(fm.mean, lm, exclude=nose)
    assert not np.any(out.face[nose])
    same = landmark_regions(fm.mean, np.asarray(fm.mean, np.float64)[lm])  # (68, 3) points
    assert np.array_equal(same.labels, reg.labels)


def test_model_regions_prefer_the_models_own(
    default_regions: tuple[FaceModel, Regions], tmp_path: Path
) -> None:
    fm, _ = default_regions
    own = {"upper": np.arange(0, 100), "lower": np.arange(100, 250)}
    m = FaceModel(fm.mean, fm.shape_basis, fm.expr_basis, fm.triangles, fm.landmarks,
                  id="with-regions", regions=own)  # fmt: skip
    reg = model_regions(m)
    assert reg.source == "model" and reg.names == ("upper", "lower")
    assert np.array_equal(reg.indices("lower"), np.arange(100, 250))
    m.save(tmp_path / "m.npz")
    loaded = FaceModel.load(tmp_path / "m.npz")
    assert list(loaded.regions) == ["upper", "lower"]
    assert np.array_equal(loaded.regions["upper"], np.arange(100))
    with pytest.raises(FaceModelError, match="overlaps"):
        FaceModel(fm.mean, fm.shape_basis, None, fm.triangles,
                  regions={"a": [1, 2], "b": [2, 3]})  # fmt: skip
    with pytest.raises(FaceModelError, match="outside"):
        FaceModel(fm.mean, fm.shape_basis, None, fm.triangles, regions={"a": [10**9]})
    with pytest.raises(ValueError, match="overlaps"):
        Regions.from_indices({"a": [1, 2], "b": [2]}, 5)


def test_model_without_landmarks_has_no_regions() -> None:
    m = FaceModel(np.eye(3, dtype=np.float32), np.zeros((9, 1), np.float32), None, [[0, 1, 2]])
    with pytest.raises(FaceModelError, match="ibug"):
        model_regions(m)


def test_region_errors_hand_case() -> None:
    labels = np.array([0, 0, 1, 1, 1, -1], dtype=np.int16)
    reg = Regions(("a", "b"), labels)
    err = np.array([1.0, 3.0, 2.0, 2.0, 8.0, 100.0])
    out = metrics.region_errors(err, reg)
    assert out["a"] == {"mean": 2.0, "median": 2.0, "vertices": 2}
    assert out["b"] == {"mean": 4.0, "median": 2.0, "vertices": 3}
    assert out["face"]["mean"] == pytest.approx(16.0 / 5)  # the -1 vertex is not face
    with pytest.raises(ValueError, match="shape"):
        metrics.region_errors(err[:3], reg)


def test_sfm_regions_need_the_jaw_line(shared_data: Path) -> None:
    # the SFM's ibug mapping lacks the jaw line (0-16): no landmark regions, a clear error
    from cmp_edge.facemodel import load_sfm

    fm = load_sfm(shared_data / "sfm" / "sfm_shape_3448.bin")
    assert "ibug_30" in fm.landmarks and "ibug_00" not in fm.landmarks
    with pytest.raises(FaceModelError, match="missing .first 'ibug_00'"):
        model_regions(fm)


def test_ict_landmark_regions(shared_data: Path) -> None:
    # the ICT Face Model Light's mean head (cm, with eyeballs, teeth and mouth socket):
    # the landmark regions of its skin (vertices 0-11247, the rest excluded)
    import json

    root = shared_data / "ict-facekit" / "FaceXModel"
    with (root / "generic_neutral_mesh.obj").open() as f:
        v = np.array([line.split()[1:4] for line in f if line.startswith("v ")], dtype=float)
    lm = np.array(json.loads((root / "vertex_indices.json").read_text())["idx_to_landmark_verts"])
    reg = landmark_regions(v, lm, exclude=np.arange(11248, len(v)))
    sizes = {n: len(reg.indices(n)) for n in reg.names}
    assert all(s > 150 for s in sizes.values()), sizes
    assert not np.any(reg.face[11248:])
    names = [reg.names[k] for k in reg.labels[lm]]
    assert set(names[36:48]) == {"eyes"} and set(names[48:68]) == {"mouth"}
    assert set(names[30:36]) == {"nose"} and names[8] == "chin"
    # left and right ears about equal (the head is nearly symmetric)
    ears = v[reg.indices("ears")]
    left, right = np.sum(ears[:, 0] > 0), np.sum(ears[:, 0] < 0)
    assert abs(left - right) < 0.1 * len(ears)
