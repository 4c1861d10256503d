"""Face-model loaders: real SFM file, synthetic BFM/SynergyNet files, npz round trip, bad files."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel import FaceModel
from cmp_edge.facemodel.__main__ import main as facemodel_main
from cmp_edge.facemodel.formats.synergynet import CMP_PAIRS


def _face_like_mean(n: int, width: float, rng: np.random.Generator) -> np.ndarray:
    mean = rng.uniform(-0.5, 0.5, (n, 3)) * np.array([width, 1.3 * width, 0.7 * width])
    mean[0, 0], mean[1, 0] = -width / 2, width / 2  # exact width
    return mean


def _is_mapped(arr: np.ndarray) -> bool:
    base = arr
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = getattr(base, "base", None)
    return False


# ----------------------------------------------------------------- SFM (real)


def test_sfm_real_file(shared_data: Path) -> None:
    fm = FaceModel.load(shared_data / "sfm" / "sfm_shape_3448.bin")
    assert (fm.n_vertices, fm.n_shape, fm.n_expr, len(fm.triangles)) == (3448, 63, 6, 6736)
    assert fm.id == "sfm-3448" and fm.units == "mm" and fm.source_scale == 1.0
    assert 140.0 < np.ptp(fm.mean[:, 0]) < 160.0  # about 149 mm wide
    w = fm.shape_basis.astype(np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(63), atol=1e-5)  # orthonormal basis
    assert np.all(np.diff(fm.shape_std) <= 0) and fm.shape_std[0] > 100.0  # sqrt(variances)
    assert fm.expr_names == ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
    assert fm.landmarks["ibug_08"] == 33 and fm.landmarks["ibug_30"] == 114  # 1-based file
    assert fm.landmarks["oicd_left"] == fm.landmarks["ibug_36"] == 177
    # +z out of the face: the nose tip is in front of the eye corners
    assert fm.mean[114, 2] > fm.mean[177, 2] + 10.0
    v = fm.reconstruct(np.ones(63), np.ones(6))
    assert v.shape == (3448, 3)


def test_sfm_truncated_and_garbage(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / "sfm" / "sfm_shape_3448.bin").read_bytes()
    bad = tmp_path / "cut.bin"
    bad.write_bytes(data[:100_000])
    with pytest.raises(FaceModelError, match="truncated"):
        FaceModel.load(bad)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(FaceModelError):
        FaceModel.load(junk)


# ----------------------------------------------------------- BFM 2009 (.mat)


def _write_bfm(path: Path, n: int = 60, k: int = 7, width: float = 1.5e5, **extra) -> dict:
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    mean = _face_like_mean(n, width, rng)
    pc = np.linalg.qr(rng.standard_normal((3 * n, k)))[0]
    ev = np.sort(rng.uniform(1e3, 5e4, k))[::-1]
    tl = rng.integers(1, n + 1, (20, 3))
    arrays = {
        "shapeMU": mean.reshape(-1, 1),
        "shapePC": pc,
        "shapeEV": ev.reshape(-1, 1),
        "tl": tl.astype(np.float64),
        "texMU": np.zeros((3 * n, 1)),
        **extra,
    }
    savemat(path, arrays)
    return arrays


def test_bfm_mat_micrometres_to_mm(tmp_path: Path) -> None:
    p = tmp_path / "01_MorphableModel.mat"
    arrays = _write_bfm(p)
    fm = FaceModel.load(p)
    assert fm.id == "bfm2009" and fm.units == "mm" and fm.source_scale == pytest.approx(1e-3)
    np.testing.assert_allclose(fm.mean.reshape(-1), arrays["shapeMU"][:, 0] * 1e-3, rtol=1e-6)
    np.testing.assert_allclose(fm.shape_basis, arrays["shapePC"] * 1e-3, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(fm.shape_std, arrays["shapeEV"][:, 0], rtol=1e-6)
    np.testing.assert_array_equal(fm.triangles, arrays["tl"].astype(int) - 1)
    assert fm.n_expr == 0 and fm.landmarks == {}
    # coefficients in file units: v_mm = 1e-3 * (mu + PC a)
    a = np.arange(7, dtype=np.float64)
    v = fm.reconstruct(a)
    expect = 1e-3 * (arrays["shapeMU"][:, 0] + arrays["shapePC"] @ a)
    np.testing.assert_allclose(v.reshape(-1), expect, rtol=1e-5, atol=1e-4)
    white = fm.whitened()
    np.testing.assert_allclose(white.reconstruct(a / fm.shape_std), v, rtol=1e-5, atol=1e-4)


def test_bfm_mat_mm_with_expression(tmp_path: Path) -> None:
    p = tmp_path / "bfm_mm.mat"
    rng = np.random.default_rng(1)
    _write_bfm(p, width=150.0, expPC=rng.standard_normal((180, 4)), expEV=np.ones((4, 1)))
    fm = FaceModel.load(p)
    assert fm.source_scale == 1.0 and fm.n_expr == 4


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"MATLAB 5.0 MAT-file" + b"\x00" * 20, "cannot read"),
        (None, "shapeEV"),
    ],
)
def test_bfm_bad_files(tmp_path: Path, content: bytes | None, match: str) -> None:
    p = tmp_path / "bad.mat"
    if content is None:
        from scipy.io import savemat

        savemat(p, {"shapeMU": np.zeros((9, 1)), "shapePC": np.zeros((9, 2))})
    else:
        p.write_bytes(content)
    with pytest.raises(FaceModelError, match=match):
        FaceModel.load(p)


def test_bfm_truncated(tmp_path: Path) -> None:
    p = tmp_path / "full.mat"
    _write_bfm(p)
    cut = tmp_path / "cut.mat"
    cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(FaceModelError):
        FaceModel.load(cut)


# --------------------------------------------------------- SynergyNet / 3DDFA


def _synergy_arrays(n: int = 53215) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {
        "u": _face_like_mean(n, 1.5e5, rng).reshape(-1, 1).astype(np.float32),
        "w_shp": rng.standard_normal((3 * n, 40)).astype(np.float32),
        "w_exp": rng.standard_normal((3 * n, 10)).astype(np.float32),
    }


def _check_synergy(fm: FaceModel, arrays: dict[str, np.ndarray]) -> None:
    assert fm.n_vertices == 53215 and (fm.n_shape, fm.n_expr) == (40, 10)
    assert fm.source_scale == pytest.approx(1e-3)
    np.testing.assert_allclose(fm.mean.reshape(-1), arrays["u"][:, 0] * 1e-3, rtol=1e-6)
    np.testing.assert_allclose(fm.expr_basis, arrays["w_exp"] * 1e-3, rtol=1e-6)
    for name, (left, right) in CMP_PAIRS.items():
        assert (fm.landmarks[f"{name}_left"], fm.landmarks[f"{name}_right"]) == (left, right)


def test_synergynet_torch_checkpoint(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    arrays = _synergy_arrays()
    state = {f"module.{k}": torch.from_numpy(v) for k, v in arrays.items()}
    state["module.param_mean"] = torch.zeros(62)
    state["module.param_std"] = torch.ones(62)
    state["module.IGM.features.0.weight"] = torch.randn(4, 3, 3, 3)
    p = tmp_path / "2D-to-3D-pretrained.tar"
    torch.save({"state_dict": state, "epoch": 3}, p)
    fm = FaceModel.load(p)
    _check_synergy(fm, arrays)
    assert fm.id == "synergynet-3ddfa" and len(fm.triangles) == 0


def test_synergynet_checkpoint_with_non_contiguous_tensor(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    arrays = _synergy_arrays()
    w_t = torch.from_numpy(np.ascontiguousarray(arrays["w_shp"].T)).t()  # strided view
    state = {
        "u": torch.from_numpy(arrays["u"]),
        "w_shp": w_t,
        "w_exp": torch.from_numpy(arrays["w_exp"]),
    }
    p = tmp_path / "ckpt.pth"
    torch.save(state, p)
    np.testing.assert_allclose(FaceModel.load(p).shape_basis, arrays["w_shp"] * 1e-3, rtol=1e-6)


def test_synergynet_pickle_npy_and_folder(tmp_path: Path) -> None:
    arrays = _synergy_arrays()
    tri = np.random.default_rng(3).integers(0, 53215, (30, 3))
    kp = (np.arange(68) * 700)[:, None] * 3 + np.arange(3)[None, :]
    pkl = tmp_path / "bfm_noneck_v3.pkl"
    with pkl.open("wb") as f:
        pickle.dump({**arrays, "tri": tri, "keypoints": kp.reshape(-1)}, f)
    fm = FaceModel.load(pkl)
    _check_synergy(fm, arrays)
    np.testing.assert_array_equal(fm.triangles, tri)
    assert fm.landmarks["ibug_01"] == 700
    npy = tmp_path / "model.npy"
    np.save(npy, np.array(arrays, dtype=object), allow_pickle=True)
    _check_synergy(FaceModel.load(npy), arrays)
    folder = tmp_path / "tensors"
    folder.mkdir()
    for k, v in arrays.items():
        np.save(folder / f"{k}.npy", v)
    _check_synergy(FaceModel.load(folder), arrays)


def test_synergynet_pickle_refuses_foreign_code(tmp_path: Path) -> None:
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps({"u": Path("/etc/passwd")}))  # a non-numpy class
    with pytest.raises(FaceModelError, match="missing u"):
        FaceModel.load(p)


def test_synergynet_wrong_keys_and_truncation(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    p = tmp_path / "other.pth"
    torch.save({"state_dict": {"module.fc.weight": torch.zeros(3, 3)}}, p)
    with pytest.raises(FaceModelError, match="module.u"):
        FaceModel.load(p)
    arrays = _synergy_arrays()
    full = tmp_path / "full.pth"
    torch.save({k: torch.from_numpy(v) for k, v in arrays.items()}, full)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(FaceModelError):
        FaceModel.load(cut)


# ------------------------------------------------------------ own .npz format


def test_npz_round_trip_and_mmap(tmp_path: Path) -> None:
    fm = FaceModel.default()
    p = tmp_path / "default.npz"
    fm.save(p)
    with zipfile.ZipFile(p) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    back = FaceModel.load(p)
    for name in ("mean", "shape_basis", "expr_basis", "triangles", "shape_std", "expr_std"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fm, name))
    assert back.landmarks == fm.landmarks and back.id == fm.id
    assert back.shape_names == fm.shape_names
    assert {k: v.tolist() for k, v in back.regions.items()} == {
        k: v.tolist() for k, v in fm.regions.items()
    }
    assert _is_mapped(back.shape_basis) and _is_mapped(back.mean)
    a = np.random.default_rng(4).standard_normal(40)
    np.testing.assert_array_equal(back.reconstruct(a), fm.reconstruct(a))
    # plain numpy can read it too
    with np.load(p) as z:
        np.testing.assert_array_equal(z["expr_basis"], fm.expr_basis)


def test_npz_bad_files(tmp_path: Path) -> None:
    fm = FaceModel.default()
    good = tmp_path / "good.npz"
    fm.save(good)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:1_000_000])
    with pytest.raises(FaceModelError):
        FaceModel.load(cut)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(FaceModelError, match="not a cmp-edge face model"):
        FaceModel.load(other)
    with pytest.raises(FaceModelError, match="no such"):
        FaceModel.load(tmp_path / "missing.npz")
    txt = tmp_path / "model.txt"
    txt.write_text("hello")
    with pytest.raises(FaceModelError, match="unknown face-model format"):
        FaceModel.load(txt)


def test_constructor_validates_shapes() -> None:
    mean = np.zeros((4, 3), np.float32)
    tri = np.array([[0, 1, 2]])
    with pytest.raises(FaceModelError, match="3N"):
        FaceModel(mean, np.zeros((11, 2)), None, tri)
    with pytest.raises(FaceModelError, match="expr_basis"):
        FaceModel(mean, np.zeros((12, 2)), np.zeros((10, 2)), tri)
    with pytest.raises(FaceModelError, match="triangles"):
        FaceModel(mean, np.zeros((12, 2)), None, np.array([[0, 1, 4]]))
    with pytest.raises(FaceModelError, match="landmark"):
        FaceModel(mean, np.zeros((12, 2)), None, tri, {"x": 9})
    with pytest.raises(FaceModelError, match="shape_std"):
        FaceModel(mean, np.zeros((12, 2)), None, tri, shape_std=np.ones(3))
    with pytest.raises(FaceModelError, match="mean"):
        FaceModel(np.zeros((4, 2)), np.zeros((8, 2)), None, tri)


def test_check_matches() -> None:
    fm = FaceModel(np.zeros((4, 3)), np.zeros((12, 2)), np.zeros((12, 1)), [[0, 1, 2]], id="m1")
    assert fm.dims == {"vertices": 4, "shape": 2, "expr": 1}
    fm.check_matches(
        "m1", {"vertices": 4, "shape": 2, "expr": 1}, where="w", needed_by="n", fix="f"
    )
    fm.check_matches("m1", where="w", needed_by="n", fix="f")  # the id only
    with pytest.raises(
        FaceModelError, match=r"^a.npz: face model 'm1' does not match the b's 'm2'; c$"
    ):
        fm.check_matches("m2", where="a.npz", needed_by="b", fix="c")
    with pytest.raises(FaceModelError, match="dimensions .* differ from the b's"):
        fm.check_matches(
            "m1", {"vertices": 5, "shape": 2, "expr": 1}, where="a", needed_by="b", fix="c"
        )


def test_convert_cli(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sfm.npz"
    assert (
        facemodel_main(["convert", str(shared_data / "sfm" / "sfm_shape_3448.bin"), str(out)]) == 0
    )
    assert FaceModel.load(out).n_vertices == 3448
    assert (
        facemodel_main(["convert", str(shared_data / "sfm" / "sfm_shape_3448.bin"), str(out)]) == 1
    )
    assert "exists" in capsys.readouterr().err
    assert facemodel_main(["convert", str(tmp_path / "nope.mat"), str(out), "--force"]) == 1


def test_facemodel_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad files and data exit 1 with one error line; only bad usage exits 2."""
    assert facemodel_main(["info", str(tmp_path / "nope.mat")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m cmp_edge.facemodel: error: ")
    assert "nope.mat" in err[0]
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    assert facemodel_main(["convert", str(junk), str(tmp_path / "o.npz")]) == 1
    assert facemodel_main(["convert", "default", str(tmp_path / "o.obj")]) == 1
    assert ".npz" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        facemodel_main(["frobnicate"])
    assert usage.value.code == 2
