"""Hostile BFM .mat and SFM .bin files (issue kinds 3-4), crafted and fuzzed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel import FaceModel
from tests.hostile.craft import sfm_file
from tests.hostile.fuzz_formats import ODD_VALUES, bfm_variables
from tests.hostile.sandbox import run_sandboxed


def _savemat(path: Path, variables: dict, compress: bool = False) -> Path:
    from scipy.io import savemat

    savemat(path, variables, do_compression=compress)
    return path


def test_valid_bfm_loads(tmp_path: Path) -> None:
    fm = FaceModel.load(_savemat(tmp_path / "ok.mat", bfm_variables(), compress=True))
    assert fm.n_vertices == 4 and fm.n_shape == 2 and fm.n_expr == 1


@pytest.mark.parametrize("index", range(len(ODD_VALUES)))
@pytest.mark.parametrize("key", ["shapePC", "tl", "expEV"])
def test_bfm_cells_strings_structs_are_domain_errors(tmp_path: Path, key: str, index: int) -> None:
    """Kind 4: cell, string, struct, complex, NaN, empty or 3-D variables."""
    variables: dict[str, object] = {**bfm_variables(), key: ODD_VALUES[index]}
    with pytest.raises(FaceModelError):
        FaceModel.load(_savemat(tmp_path / "odd.mat", variables))


def test_compressed_mat_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    """Kind 3: a compressed variable inflating beyond max_bytes (lowered to 8 MiB here)."""
    from cmp_edge.limits import limits

    variables = {**bfm_variables(), "texPC": np.zeros((4 << 20, 1))}  # 32 MiB of zeros
    path = _savemat(tmp_path / "bomb.mat", variables, compress=True)
    assert path.stat().st_size < 1 << 20
    with limits(max_bytes=8 << 20), pytest.raises(FaceModelError, match="limit"):
        FaceModel.load(path)


def test_mat_variable_longer_than_the_file(tmp_path: Path) -> None:
    raw = bytearray(_savemat(tmp_path / "ok.mat", bfm_variables()).read_bytes())
    raw[132:136] = (1 << 31).to_bytes(4, "little")  # the first element's byte count
    (tmp_path / "cut.mat").write_bytes(bytes(raw))
    with pytest.raises(FaceModelError, match="truncated"):
        FaceModel.load(tmp_path / "cut.mat")


def test_valid_sfm_with_blendshapes_loads(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(sfm_file([("smile", np.ones((12, 1)))]))
    fm = FaceModel.load(tmp_path / "m.bin")
    assert fm.n_expr == 1 and fm.expr_names == ("smile",)


@pytest.mark.parametrize("shapes", [[(12, 0)], [(12, 1), (9, 1)], [(0, 1)], [(12, 2)]], ids=str)
def test_sfm_blendshapes_of_wrong_shape(tmp_path: Path, shapes: list) -> None:
    """Kind 4: blendshapes with zero columns or different lengths."""
    blend = [(f"b{i}", np.ones(s)) for i, s in enumerate(shapes)]
    (tmp_path / "m.bin").write_bytes(sfm_file(blend))
    with pytest.raises(FaceModelError, match="blendshape"):
        FaceModel.load(tmp_path / "m.bin")


def test_sfm_matrix_declaring_2_to_the_40_elements(tmp_path: Path) -> None:
    raw = bytearray(sfm_file())
    raw[4:12] = np.array([1 << 20, 1 << 20], dtype="<i4").tobytes()
    (tmp_path / "m.bin").write_bytes(bytes(raw))
    with pytest.raises(FaceModelError, match="limit"):
        FaceModel.load(tmp_path / "m.bin")


def test_nan_mean_is_refused(tmp_path: Path) -> None:
    variables = bfm_variables()
    variables["shapeMU"] = variables["shapeMU"].copy()
    variables["shapeMU"][5] = np.nan
    with pytest.raises(FaceModelError, match="NaN"):
        FaceModel.load(_savemat(tmp_path / "nan.mat", variables))
    with pytest.raises(FaceModelError, match="NaN"):
        FaceModel(np.full((3, 3), np.inf), np.zeros((9, 1)), None, np.zeros((0, 3), int))


@pytest.mark.slow
@pytest.mark.parametrize("target", ["fuzz_bfm", "fuzz_sfm"])
def test_fuzz_bfm_and_sfm(target: str) -> None:
    run_sandboxed(f"tests.hostile.fuzz_formats:{target}")
