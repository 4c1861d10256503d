"""The ICT Face Model Light reader against the shared ICT-FaceKit files; hostile input.

References are independent of the reader: the OBJ files are parsed here line by
line with ``float()``, the landmark list is read from the JSON directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel import FaceModel
from cmp_edge.facemodel.formats import detect_format
from cmp_edge.facemodel.formats import ict as ict_format
from cmp_edge.facemodel.formats.ict_rules import ICT_REGIONS

N_ICT = 26719


def _vertices(path: Path) -> np.ndarray:
    rows = [
        [float(t) for t in line.split()[1:4]]
        for line in path.read_text().splitlines()
        if line.startswith("v ")
    ]
    return np.array(rows)


@pytest.fixture(scope="session")
def ict_dir(shared_data: Path) -> Path:
    folder = shared_data / "ict-facekit" / "FaceXModel"
    if not folder.is_dir():
        pytest.skip("../shared/data/ict-facekit is absent")
    return folder


@pytest.fixture(scope="session")
def ict(ict_dir: Path) -> FaceModel:
    return FaceModel.load(ict_dir)


@pytest.fixture(scope="session")
def neutral_mm(ict_dir: Path) -> np.ndarray:
    return _vertices(ict_dir / "generic_neutral_mesh.obj") * 10.0


@pytest.mark.slow
def test_loader_matches_the_files(ict: FaceModel, ict_dir: Path, neutral_mm: np.ndarray) -> None:
    assert ict.id == "ict-facekit" and ict.units == "mm" and ict.source_scale == 10.0
    assert ict.n_vertices == N_ICT and (ict.n_shape, ict.n_expr) == (100, 53)
    np.testing.assert_allclose(ict.mean, neutral_mm, rtol=0, atol=1e-4)
    for i in (0, 1, 39, 99):
        mode = (_vertices(ict_dir / f"identity{i:03d}.obj") * 10.0 - neutral_mm).reshape(-1)
        np.testing.assert_allclose(ict.shape_basis[:, i], mode, rtol=0, atol=1e-4)
    meta = json.loads((ict_dir / "vertex_indices.json").read_text())
    assert ict.expr_names == tuple(meta["expressions"])
    k = meta["expressions"].index("jawOpen")
    jaw = (_vertices(ict_dir / "jawOpen.obj") * 10.0 - neutral_mm).reshape(-1)
    np.testing.assert_allclose(ict.expr_basis[:, k], jaw, rtol=0, atol=1e-4)
    chin = meta["idx_to_landmark_verts"][8]
    assert 25.0 < -ict.expr_basis[3 * chin + 1, k] < 45.0  # jawOpen drops the chin ~35 mm
    assert [ict.landmarks[f"ibug_{i:02d}"] for i in range(68)] == meta["idx_to_landmark_verts"]
    assert ict.shape_names == tuple(f"identity{i:03d}" for i in range(100))
    # rms displacement over the head falls with the mode index (the README's ~4.7 mm)
    rms = np.sqrt((ict.shape_basis[: 3 * 11248].astype(np.float64) ** 2).mean(0) * 3)
    assert 3.0 < rms[0] < 7.0 and rms[99] < 0.2 and rms[0] > rms[10] > rms[99]


@pytest.mark.slow
def test_triangulation_and_axes(ict: FaceModel, ict_dir: Path, neutral_mm: np.ndarray) -> None:
    faces = [
        [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
        for line in (ict_dir / "generic_neutral_mesh.obj").read_text().splitlines()
        if line.startswith("f ")
    ]
    assert len(ict.triangles) == sum(len(f) - 2 for f in faces)
    expected = [(f[0], f[k], f[k + 1]) for f in faces for k in range(1, len(f) - 1)]
    np.testing.assert_array_equal(ict.triangles, np.array(expected))
    lm, m = ict.landmarks, ict.mean
    # y up, +z out of the face, viewer's left at x < 0
    assert m[lm["ibug_19"], 1] > m[lm["ibug_30"], 1] > m[lm["ibug_08"], 1]
    assert m[lm["ibug_30"], 2] == max(m[lm[f"ibug_{i:02d}"], 2] for i in range(68))
    assert m[lm["ibug_36"], 0] < 0 < m[lm["ibug_45"], 0]
    # the nose's triangles face +z (counter-clockwise seen from outside)
    t = ict.triangles[(ict.triangles == lm["ibug_30"]).any(axis=1)]
    n = np.cross(m[t[:, 1]] - m[t[:, 0]], m[t[:, 2]] - m[t[:, 0]])
    assert n.sum(axis=0)[2] > 0


@pytest.mark.slow
def test_regions_and_are_pairs(ict: FaceModel) -> None:
    assert set(ict.regions) == set(ICT_REGIONS)
    sizes = {k: hi - lo + 1 for k, (lo, hi) in ICT_REGIONS.items()}
    assert {k: len(v) for k, v in ict.regions.items()} == sizes
    assert sum(sizes.values()) == N_ICT
    m, lm = ict.mean, ict.landmarks
    for pair in ("oicd", "ear", "forehead", "mid", "cheek"):
        left, right = m[lm[f"{pair}_left"]], m[lm[f"{pair}_right"]]
        assert left[0] < 0 < right[0]
        np.testing.assert_allclose(left * [-1, 1, 1], right, atol=1.0)  # the head is symmetric
    assert lm["oicd_left"] == lm["ibug_36"] and lm["oicd_right"] == lm["ibug_45"]


@pytest.mark.slow
def test_convert_command(ict: FaceModel, ict_dir: Path, tmp_path: Path) -> None:
    from cmp_edge.facemodel.__main__ import main

    out = tmp_path / "ict.npz"
    assert detect_format(ict_dir) == detect_format(ict_dir.parent) == "ict"
    assert main(["convert", str(ict_dir.parent), str(out)]) == 0
    back = FaceModel.load(out)
    np.testing.assert_array_equal(back.shape_basis, ict.shape_basis)
    np.testing.assert_array_equal(back.expr_basis, ict.expr_basis)
    assert back.landmarks == ict.landmarks and back.expr_names == ict.expr_names
    assert {k: v.tolist() for k, v in back.regions.items()} == {
        k: v.tolist() for k, v in ict.regions.items()
    }


# --------------------------------------------------------------- hostile input
def _tiny_folder(tmp: Path, n: int = N_ICT) -> Path:
    """A folder shaped like FaceXModel: n vertices, one quad, one identity, one expression."""
    v = np.zeros((n, 3))
    v[:, 0] = np.arange(n) % 100
    lines = [f"v {x:g} {y:g} {z:g}" for x, y, z in v]
    (tmp / "generic_neutral_mesh.obj").write_text("\n".join([*lines, "f 1/1 2/2 3/3 4/4"]) + "\n")
    (tmp / "identity000.obj").write_text("\n".join(lines) + "\n")
    (tmp / "jawOpen.obj").write_text("\n".join(lines) + "\n")
    meta = {"expressions": ["jawOpen"], "idx_to_landmark_verts": list(range(68))}
    (tmp / "vertex_indices.json").write_text(json.dumps(meta))
    return tmp


def _one_line_error(excinfo: pytest.ExceptionInfo[FaceModelError], *words: str) -> None:
    msg = str(excinfo.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_obj_readers_on_a_small_file(tmp_path: Path) -> None:
    p = tmp_path / "m.obj"
    p.write_text(
        "# c\nv 1 2 3\nv 4 5 6 1\nv 7 8 9\nvt 0 0\nv 0 0 1\nf 1/1/1 2/2/2 3/3/3 4/4/4\nf -1 -2 -3\n"
    )
    np.testing.assert_array_equal(
        ict_format.read_obj_vertices(p), [[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 1]]
    )
    np.testing.assert_array_equal(
        ict_format.read_obj_polygons(p, 4), [[0, 1, 2], [0, 2, 3], [3, 2, 1]]
    )


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("missing_identity", ["identity000.obj", "missing"]),
        ("short_identity", ["identity000.obj", "vertices but the neutral mesh has"]),
        ("nan", ["jawOpen.obj", "NaN"]),
        ("text", ["jawOpen.obj", "other than numbers"]),
        ("face_range", ["generic_neutral_mesh.obj", "outside"]),
        ("json_escape", ["vertex_indices.json", "file stems"]),
        ("json_landmarks", ["vertex_indices.json", "68"]),
        ("json_range", ["vertex_indices.json", "outside"]),
        ("json_syntax", ["vertex_indices.json", "JSON"]),
        ("too_few_vertices", ["generic_neutral_mesh.obj", "26719"]),
    ],
)
def test_hostile_folders(tmp_path: Path, damage: str, words: list[str]) -> None:
    folder = _tiny_folder(tmp_path, n=200 if damage == "too_few_vertices" else N_ICT)
    ident, expr, meta = (
        folder / "identity000.obj",
        folder / "jawOpen.obj",
        folder / "vertex_indices.json",
    )
    if damage == "missing_identity":
        ident.unlink()
    elif damage == "short_identity":
        ident.write_text("v 0 0 0\n")
    elif damage == "nan":
        expr.write_text(expr.read_text().replace("v 0 0 0", "v nan 0 0", 1))
    elif damage == "text":
        expr.write_text(expr.read_text().replace("v 0 0 0", "v zero 0 0", 1))
    elif damage == "face_range":
        neutral = folder / "generic_neutral_mesh.obj"
        neutral.write_text(neutral.read_text() + "f 1 2 999999\n")
    elif damage.startswith("json"):
        m = json.loads(meta.read_text())
        if damage == "json_escape":
            m["expressions"] = ["../../etc/passwd"]
        elif damage == "json_landmarks":
            m["idx_to_landmark_verts"] = [0, 1]
        elif damage == "json_range":
            m["idx_to_landmark_verts"] = [N_ICT + 5] * 68
        meta.write_text("{not json" if damage == "json_syntax" else json.dumps(m))
    with pytest.raises(FaceModelError) as excinfo:
        ict_format.read_ict(folder, n_identity=1)
    _one_line_error(excinfo, *words)


def test_oversized_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _tiny_folder(tmp_path)
    monkeypatch.setattr(ict_format, "MAX_OBJ_BYTES", 1000)
    with pytest.raises(FaceModelError) as excinfo:
        ict_format.read_ict(folder, n_identity=1)
    _one_line_error(excinfo, "generic_neutral_mesh.obj", "larger than")
    with pytest.raises(FaceModelError, match="n_identity"):
        ict_format.read_ict(folder, n_identity=101)
    with pytest.raises(FaceModelError, match="not a folder"):
        ict_format.read_ict(tmp_path / "nowhere")
