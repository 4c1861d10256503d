"""Hostile face-model files (issue kinds 1-4): crafted cases and sandboxed fuzzing.

Every crafted file must give a FaceModelError (never a crash, a raw exception
or a large allocation); the fuzz bodies (fuzz_facemodel.py) run in a child
process under an address-space limit (sandbox.py).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel import FaceModel
from tests.hostile.craft import Tensor, glob, numpy_pickle, tiny_model_arrays, valid_checkpoint
from tests.hostile.sandbox import run_sandboxed


def test_valid_checkpoint_loads_exactly(tmp_path: Path) -> None:
    path = valid_checkpoint().write(tmp_path / "ok.tar")
    fm = FaceModel.load(path)
    ref = tiny_model_arrays()
    np.testing.assert_allclose(fm.mean, ref["u"].reshape(-1, 3) * 1e-3, rtol=1e-6)
    np.testing.assert_allclose(fm.shape_basis, ref["w_shp"] * 1e-3, rtol=1e-6)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("offset", -1, "storage offset"),
        ("offset", 10**6, "storage"),
        ("stride", (-1, 12), "tensor stride"),
        ("stride", (1, 10**6), "reaches element"),
        ("size", (12, True), "tensor size"),
        ("key", "../../etc/passwd", "record name"),
        ("key", "7", "not a record of the archive"),
        ("storage", "BFloat16Storage", "not a typed storage"),
        ("numel", 10**9, "shorter than its declared size"),
    ],
)
def test_out_of_bounds_tensor_metadata_is_refused(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    """Kind 1: metadata that would make a view outside the storage (or of foreign data)."""
    ckpt = valid_checkpoint()
    setattr(ckpt.tensors["module.w_shp"], field, value)
    with pytest.raises(FaceModelError, match=message):
        FaceModel.load(ckpt.write(tmp_path / "bad.tar"))


def test_storage_must_be_an_archive_record_not_an_array_from_the_pickle(tmp_path: Path) -> None:
    """Kind 1: an object array built inside the pickle cannot stand in for a storage."""
    fake = (
        glob("numpy.core.multiarray", "_reconstruct")
        + glob("numpy", "ndarray")
        + b"(K\x00\x85C\x01bt"
        + b"R"
    )
    args = b"(" + fake + b"K\x00(K\x04tK\x01\x85\x89t"
    tensor = glob("torch._utils", "_rebuild_tensor_v2") + args + b"R"
    ckpt = valid_checkpoint()
    ckpt.extra_pickle = b"X\x05\x00\x00\x00evil!" + tensor
    with pytest.raises(FaceModelError, match="storage"):
        FaceModel.load(ckpt.write(tmp_path / "bad.tar"))


@pytest.mark.parametrize(
    "state",
    [
        # object dtype with raw bytes: numpy would read the bytes as object pointers
        (1, (2,), "O", False, b"\x00" * 16),
        # a structured dtype (fields) smuggled through the dtype state
        (1, (2,), "V8", False, b"\x00" * 16),
        # declared shape larger than the data
        (1, (1 << 40,), "f4", False, b"\x00" * 16),
    ],
)
def test_numpy_pickle_arrays_are_proven(tmp_path: Path, state: tuple) -> None:
    """Kind 1: NumPy arrays in a pickle must be numeric and exactly as long as declared."""
    from numpy._core.multiarray import _reconstruct

    version, shape, dtype, fortran, raw = state

    class Arr:
        def __reduce__(self):  # noqa: ANN204
            return (
                _reconstruct,
                (np.ndarray, (0,), b"b"),
                (version, shape, np.dtype(dtype), fortran, raw),
            )

    arrays = {**tiny_model_arrays(), "w_exp": Arr()}
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=2))
    with pytest.raises(FaceModelError):
        FaceModel.load(path)


def test_numpy_pickles_and_object_npy_still_load(tmp_path: Path) -> None:
    from tests.hostile.craft import npy_object_file

    for name, raw in [
        ("m.pkl", numpy_pickle(tiny_model_arrays(), 5)),
        ("m.npy", npy_object_file(tiny_model_arrays())),
    ]:
        (tmp_path / name).write_bytes(raw)
        fm = FaceModel.load(tmp_path / name)
        assert fm.n_shape == 2 and fm.n_expr == 1


def test_zero_stride_stretch_is_refused_before_allocating(tmp_path: Path) -> None:
    """Kind 3: a 1-element storage viewed as 2^40 elements with stride 0."""
    ckpt = valid_checkpoint()
    ckpt.tensors["module.w_exp"] = Tensor("2", 0, (1 << 20, 1 << 20), (0, 0))
    with pytest.raises(FaceModelError, match="limit"):
        FaceModel.load(ckpt.write(tmp_path / "bomb.tar"))


def test_deflate_bomb_member_is_refused(tmp_path: Path) -> None:
    """Kind 3: a storage record that inflates far beyond the byte limit (here lowered to 8 MiB)."""
    from cmp_edge.limits import limits

    ckpt = valid_checkpoint()
    ckpt.records["9"] = bytes(32 << 20)
    ckpt.tensors["module.w_exp"] = Tensor("9", 0, (12, 1), (1, 12))
    path = ckpt.write(tmp_path / "bomb.tar", zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20
    with limits(max_bytes=8 << 20), pytest.raises(FaceModelError, match="limit"):
        FaceModel.load(path)


def test_cli_prints_one_line(tmp_path: Path) -> None:
    """Kind 4: `python -m cmp_edge.facemodel info` on a crafted file: one line, exit 1."""
    ckpt = valid_checkpoint()
    ckpt.tensors["module.u"].stride = (-5, 1)
    path = ckpt.write(tmp_path / "bad.tar")
    proc = subprocess.run(
        [sys.executable, "-m", "cmp_edge.facemodel", "info", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m cmp_edge.facemodel: error: ")
    assert str(path) in lines[0]


@pytest.mark.parametrize(
    "target",
    [
        "fuzz_checkpoint_fields",
        "fuzz_checkpoint_bytes",
        "fuzz_numpy_pickles",
        "fuzz_npy_folder",
        "fuzz_npz",
    ],
)
@pytest.mark.slow
def test_fuzz_face_model_loaders(target: str) -> None:
    """Only FaceModelError escapes, under an address-space limit (no crash, no bomb)."""
    run_sandboxed(f"tests.hostile.fuzz_facemodel:{target}")


@pytest.mark.parametrize("record", ["0", "1"])
def test_non_finite_tensors_are_refused(tmp_path: Path, record: str) -> None:
    """Kind 4: NaN in the mean (u) or a basis (w_shp)."""
    ckpt = valid_checkpoint()
    values = np.frombuffer(ckpt.records[record], "<f4").copy()
    values[3] = np.nan
    ckpt.records[record] = values.tobytes()
    with pytest.raises(FaceModelError, match="NaN"):
        FaceModel.load(ckpt.write(tmp_path / "nan.tar"))
