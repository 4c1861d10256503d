"""Mesh and parameter writers: trimesh round trips, atomicity, errors."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from cmp_edge._safe import atomic as _io
from cmp_edge.errors import OutputError
from cmp_edge.output import mesh
from cmp_edge.output import params as param_files

from .meshes import uv_sphere


@pytest.fixture(scope="module")
def sphere() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    verts, faces = uv_sphere(37.5, 12, 24)
    rng = np.random.default_rng(0)
    verts = verts + rng.normal(0, 1e-3, verts.shape).astype(np.float32)  # unround values
    colors = rng.integers(0, 256, (len(verts), 3), dtype=np.uint8)
    return verts, faces, colors


def _load(path: Path) -> trimesh.Trimesh:
    loaded = trimesh.load(path, process=False)
    assert isinstance(loaded, trimesh.Trimesh)
    return loaded


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
@pytest.mark.parametrize("with_colors", [False, True])
def test_round_trip_through_trimesh(tmp_path: Path, sphere, suffix: str, with_colors: bool) -> None:
    verts, faces, colors = sphere
    path = tmp_path / f"m{suffix}"
    mesh.save_mesh(path, verts, faces, colors if with_colors else None)
    loaded = _load(path)
    np.testing.assert_array_equal(np.asarray(loaded.vertices, dtype=np.float32), verts)
    np.testing.assert_array_equal(loaded.faces, faces)
    if with_colors:
        np.testing.assert_array_equal(loaded.visual.vertex_colors[:, :3], colors)


def test_ply_is_binary_little_endian_with_exact_size(tmp_path: Path, sphere) -> None:
    verts, faces, colors = sphere
    path = tmp_path / "m.ply"
    mesh.write_ply(path, verts, faces, colors)
    data = path.read_bytes()
    header, body = data.split(b"end_header\n", 1)
    assert b"format binary_little_endian 1.0" in header
    assert len(body) == len(verts) * (12 + 3) + len(faces) * (1 + 12)
    first = np.frombuffer(body[:12], dtype="<f4")
    np.testing.assert_array_equal(first, verts[0])


def test_obj_text_layout(tmp_path: Path) -> None:
    verts = np.array([[0, 0, 0], [1.5, 0, 0], [0, -2.25, 1e-7]], dtype=np.float32)
    path = tmp_path / "t.obj"
    mesh.write_obj(path, verts, [[0, 1, 2]], colors=[[255, 0, 51], [0, 0, 0], [1, 2, 3]])
    lines = path.read_text().splitlines()
    assert lines[1:] == [
        "v 0 0 0 1 0 0.2",
        "v 1.5 0 0 0 0 0",
        "v 0 -2.25 1e-07 0.003921569 0.007843138 0.011764706",
        "f 1 2 3",
    ]


def test_float_colors_are_scaled(tmp_path: Path) -> None:
    verts, faces = uv_sphere(1.0, 4, 8)
    colors = np.linspace(0, 1, len(verts) * 3).reshape(-1, 3)
    path = tmp_path / "c.ply"
    mesh.write_ply(path, verts, faces, colors)
    np.testing.assert_array_equal(
        _load(path).visual.vertex_colors[:, :3], np.rint(colors * 255).astype(np.uint8)
    )


def test_write_xyz(tmp_path: Path, sphere) -> None:
    verts = sphere[0]
    path = tmp_path / "v.xyz"
    mesh.write_xyz(path, verts)
    back = np.loadtxt(path, dtype=np.float32)
    np.testing.assert_array_equal(back, verts)


def test_unknown_suffix_and_missing_folder(tmp_path: Path, sphere) -> None:
    verts, faces, _ = sphere
    with pytest.raises(OutputError, match=r"unknown mesh format '\.stl'; use one of .*\.glb"):
        mesh.save_mesh(tmp_path / "m.stl", verts, faces)
    with pytest.raises(OutputError, match="does not exist"):
        mesh.save_mesh(tmp_path / "no" / "m.ply", verts, faces)


def test_save_mesh_glb_in_metres(tmp_path: Path, sphere) -> None:
    import trimesh

    verts, faces, _ = sphere
    mesh.save_mesh(tmp_path / "m.GLB", verts, faces, units="cm")
    assert (tmp_path / "m.GLB").read_bytes()[:4] == b"glTF"
    back = trimesh.load(tmp_path / "m.GLB", force="mesh")
    box = np.array([verts.min(0), verts.max(0)]) * 0.01  # cm -> m
    np.testing.assert_allclose(back.bounds, box, atol=1e-6)


def test_overwrite_false_keeps_existing_file(tmp_path: Path, sphere) -> None:
    verts, faces, _ = sphere
    path = tmp_path / "m.obj"
    path.write_text("keep")
    with pytest.raises(OutputError, match="exists"):
        mesh.save_mesh(path, verts, faces, overwrite=False)
    assert path.read_text() == "keep"


def test_target_is_a_folder(tmp_path: Path, sphere) -> None:
    verts, faces, _ = sphere
    (tmp_path / "m.ply").mkdir()
    with pytest.raises(OutputError, match="cannot write"):
        mesh.save_mesh(tmp_path / "m.ply", verts, faces)
    assert [p.name for p in tmp_path.iterdir()] == ["m.ply"]


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in, also when running as root."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        (folder / "probe").write_text("x")
    except PermissionError:
        return folder
    # Root ignores permission bits; /proc refuses new files for everyone.
    folder.chmod(0o700)
    return Path("/proc")


def test_unwritable_folder(tmp_path: Path, sphere) -> None:
    verts, faces, _ = sphere
    folder = _unwritable_folder(tmp_path)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            mesh.save_mesh(folder / "m.ply", verts, faces)
        assert not (folder / "m.ply").exists()
    finally:
        if folder != Path("/proc"):
            folder.chmod(0o700)


class _DiskFull(OSError):
    def __init__(self, message: str) -> None:
        super().__init__(28, message)  # errno ENOSPC; strerror = message


class _FailingHandle:
    """Delegates to a real file handle; the second write fails after the first landed."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.calls = 0

    def write(self, data: bytes) -> int:
        self.calls += 1
        if self.calls == 2:
            raise _DiskFull("disk full")
        return self.handle.write(data)


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
@pytest.mark.parametrize("existing", [False, True])
def test_failure_mid_write_leaves_no_partial_file(
    tmp_path: Path, sphere, monkeypatch, suffix: str, existing: bool
) -> None:
    verts, faces, _ = sphere
    path = tmp_path / f"m{suffix}"
    if existing:
        path.write_bytes(b"old")
    real = _io.atomic_write

    @contextlib.contextmanager
    def failing_atomic_write(target, *, overwrite=True):
        with real(target, overwrite=overwrite) as handle:
            yield _FailingHandle(handle)

    monkeypatch.setattr(_io, "atomic_write", failing_atomic_write)
    with pytest.raises(OutputError, match="disk full"):
        mesh.save_mesh(path, verts, faces)
    assert [p.name for p in tmp_path.iterdir()] == (["m" + suffix] if existing else [])
    if existing:
        assert path.read_bytes() == b"old"


@pytest.mark.parametrize(
    ("verts", "faces", "error"),
    [
        (np.zeros((3, 2)), [[0, 1, 2]], ValueError),
        (np.zeros((3, 3)), [[0, 1, 3]], IndexError),
        (np.zeros((3, 3)), [[0, -1, 2]], IndexError),
        (np.zeros((3, 3)), [[0.0, 1.0, 2.0]], ValueError),
        (np.array([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]]), [[0, 1, 2]], ValueError),
    ],
)
@pytest.mark.parametrize("suffix", [".ply", ".obj"])
def test_bad_meshes_raise(tmp_path: Path, verts, faces, error, suffix: str) -> None:
    path = tmp_path / f"bad{suffix}"
    with pytest.raises(error):
        mesh.save_mesh(path, verts, faces)
    assert not path.exists()


def test_bad_colors_raise(tmp_path: Path, sphere) -> None:
    verts, faces, colors = sphere
    with pytest.raises(ValueError, match="shape"):
        mesh.save_mesh(tmp_path / "a.ply", verts, faces, colors[:-1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mesh.save_mesh(tmp_path / "a.ply", verts, faces, colors.astype(np.float32))
    with pytest.raises(ValueError, match="0-255"):
        mesh.save_mesh(tmp_path / "a.obj", verts, faces, colors.astype(np.int32) + 1)


def test_empty_mesh(tmp_path: Path) -> None:
    path = tmp_path / "e.ply"
    mesh.write_ply(path, np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int32))
    assert b"element vertex 0" in path.read_bytes()
    mesh.write_obj(tmp_path / "e.obj", np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int32))
    assert (tmp_path / "e.obj").read_text() == "# cmp-edge\n"


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_params_round_trip(tmp_path: Path, suffix: str) -> None:
    params = {
        "shape": np.arange(40, dtype=np.float32) / 7,
        "expr": np.ones(10, dtype=np.float32),
        "scale": np.float32(0.5),
    }
    meta = {"face_model_id": "ict-facekit-head-v1", "utterance": np.int64(3), "ok": True}
    path = tmp_path / f"p{suffix}"
    param_files.save_params(path, params, meta)
    back, back_meta = param_files.load_params(path)
    assert set(back) == set(params)
    for key, value in params.items():
        np.testing.assert_allclose(back[key], value, rtol=0, atol=0)
    assert back_meta == {"face_model_id": "ict-facekit-head-v1", "utterance": 3, "ok": True}
    if suffix == ".json":
        assert json.loads(path.read_text())["metadata"]["utterance"] == 3


def test_params_errors(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unknown parameter format"):
        param_files.save_params(tmp_path / "p.txt", {"a": [1]}, {})
    with pytest.raises(ValueError, match="JSON"):
        param_files.save_params(tmp_path / "p.json", {"a": [1]}, {"bad": object()})
    assert not (tmp_path / "p.json").exists()
    with pytest.raises(ValueError, match="reserved"):
        param_files.save_params(tmp_path / "p.npz", {"__metadata__": [1]}, {})
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(OutputError, match="cannot read"):
        param_files.load_params(tmp_path / "broken.json")


def test_obj_floats_round_trip_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    special = [0.0, -0.0, 1e-45, -1.17549435e-38, 3.4028235e38, -3.4028235e38, 0.1, 1 / 3]
    values = np.concatenate(
        [
            np.array(special, dtype=np.float32),
            rng.normal(0, 100, 3000).astype(np.float32),
            (rng.normal(0, 1, 1000) * 10.0 ** rng.integers(-30, 30, 1000)).astype(np.float32),
        ]
    )
    values = values[: len(values) // 3 * 3].reshape(-1, 3)
    path = tmp_path / "x.obj"
    mesh.write_obj(path, values, np.zeros((0, 3), dtype=np.int32))
    rows = [line.split()[1:] for line in path.read_text().splitlines()[1:]]
    back = np.array(rows, dtype=np.float32)
    np.testing.assert_array_equal(back.view(np.uint32), values.view(np.uint32))


def test_atomic_files_commits_all_together(tmp_path: Path) -> None:
    targets = [tmp_path / "a.ply", tmp_path / "b.json"]
    with _io.atomic_files(targets) as temps:
        assert [t.suffix for t in temps] == [".ply", ".json"]
        assert all(t.parent == tmp_path and t.name.startswith(".") for t in temps)
        assert not any(t.exists() for t in targets)  # nothing visible before the end
        temps[0].write_bytes(b"mesh")
        with _io.atomic_write(temps[1]) as handle:  # nested atomic writers work
            handle.write(b"{}")
    assert [t.read_bytes() for t in targets] == [b"mesh", b"{}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ply", "b.json"]
    assert (targets[0].stat().st_mode & 0o777) == 0o644


@pytest.mark.parametrize("existing", [False, True])
def test_atomic_files_failure_leaves_nothing(tmp_path: Path, existing: bool) -> None:
    targets = [tmp_path / "a.ply", tmp_path / "b.png"]
    if existing:
        for t in targets:
            t.write_bytes(b"old")
    with pytest.raises(OutputError, match="b.png: no room"), _io.atomic_files(targets) as temps:
        temps[0].write_bytes(b"new")
        raise OutputError(f"{temps[1]}: no room")
    assert sorted(p.name for p in tmp_path.iterdir()) == (["a.ply", "b.png"] if existing else [])
    if existing:
        assert all(t.read_bytes() == b"old" for t in targets)


def test_atomic_files_rename_failure_removes_committed(tmp_path: Path, monkeypatch) -> None:
    targets = [tmp_path / "a.ply", tmp_path / "b.png"]
    real = _io.os.replace

    def replace(src, dst):  # noqa: ANN001, ANN202
        if Path(dst) == targets[1]:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(_io.os, "replace", replace)
    with pytest.raises(OutputError, match="b.png"), _io.atomic_files(targets) as temps:
        for t in temps:
            t.write_bytes(b"x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_files_checks_before_writing(tmp_path: Path) -> None:
    (tmp_path / "old.ply").write_bytes(b"old")
    (tmp_path / "dir.ply").mkdir()
    cases = [
        ([tmp_path / "a.ply", tmp_path / "a.ply"], "named twice"),
        ([tmp_path / "a.ply", tmp_path / "old.ply"], "file exists"),
        ([tmp_path / "a.ply", tmp_path / "no" / "b.ply"], "does not exist"),
        ([tmp_path / "dir.ply"], "is a folder"),
    ]
    for targets, message in cases:
        with (
            pytest.raises(OutputError, match=message),
            _io.atomic_files(targets, overwrite=False),
        ):
            pytest.fail("the block must not run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.ply", "old.ply"]
