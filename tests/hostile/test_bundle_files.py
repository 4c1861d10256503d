"""Hostile ONNX bundles (issue kinds 2-4): paths from metadata, sizes, the error contract."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import CmpEdgeError, FaceModelError, ModelError
from cmp_edge.model.bundle import read_bundle
from tests.hostile.bundles import metadata, tiny_face_model, write_bundle
from tests.hostile.craft import valid_checkpoint
from tests.hostile.sandbox import run_sandboxed


def _cli(*argv: str) -> tuple[int, list[str]]:
    from cmp_edge.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, err.getvalue().strip().splitlines()


@pytest.fixture()
def voice_wav(tmp_path: Path) -> Path:
    import soundfile as sf

    from tests.runtime.helpers import synthetic_voice

    path = tmp_path / "voice.wav"
    sf.write(str(path), synthetic_voice(2.0, seed=3), 16000, subtype="PCM_16")
    return path


def test_tiny_bundle_with_its_face_model_runs(tmp_path: Path, voice_wav: Path) -> None:
    from cmp_edge.runtime.reconstructor import Reconstructor

    tiny_face_model().save(tmp_path / "m.facemodel.npz")
    model = write_bundle(tmp_path / "m.onnx", metadata(face_model_file="m.facemodel.npz"))
    face = Reconstructor(model).predict_file(voice_wav)
    assert face.vertices.shape == (4, 3) and np.all(np.isfinite(face.vertices))


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../outside.npz", "sub/m.npz", "..", "m.npz\x00.txt", "m.tar", "C:\\m.npz"],
)
def test_face_model_file_must_be_a_bare_npz_name(tmp_path: Path, name: str) -> None:
    """Kind 2: absolute paths, '..', sub-folders and other formats are refused."""
    (tmp_path / "sub").mkdir()
    model = write_bundle(tmp_path / "m.onnx", metadata(face_model_file=name))
    with pytest.raises(ModelError, match="face_model_file"):
        read_bundle(model)


def test_face_model_file_symlink_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.npz"
    tiny_face_model().save(outside)
    folder = tmp_path / "bundle"
    folder.mkdir()
    os.symlink(outside, folder / "m.npz")
    model = write_bundle(folder / "m.onnx", metadata(face_model_file="m.npz"))
    with pytest.raises(ModelError, match="links outside"):
        read_bundle(model)


def test_face_model_file_is_read_as_npz_only(tmp_path: Path, voice_wav: Path) -> None:
    """Kind 2: a checkpoint renamed .npz is not handed to the checkpoint loader."""
    valid_checkpoint().write(tmp_path / "m.npz")
    model = write_bundle(tmp_path / "m.onnx", metadata(face_model_file="m.npz"))
    code, lines = _cli(
        "infer", str(voice_wav), "-o", str(tmp_path / "o.ply"), "--model", str(model)
    )
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("cmp-edge: error: ") and "m.npz" in lines[0]
    assert "internal error" not in lines[0]
    with pytest.raises(FaceModelError, match="not a cmp-edge face model"):
        from cmp_edge.runtime.reconstructor import Reconstructor

        Reconstructor(model)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("pad_to", "20000000", "pad_to"),
        ("pad_to", "-5", "pad_to"),
        ("provenance", "[" * 100_000 + "]" * 100_000, "nested"),
        ("param_layout", json.dumps({"scale": True, "shape": 2, "expr": 1}), "layout"),
        ("face_model_dims", json.dumps({"vertices": 4, "shape": True, "expr": 1}), "dims"),
        ("param_mean", json.dumps([[1.0], 0, 0, 0]), "param_mean"),
        ("param_std", json.dumps([1.0, "x", 0, 0]), "param_std"),
        ("param_mean", "[NaN, 0, 0, 0]", "param_mean"),
        ("param_mean", json.dumps([1e309, 0, 0, 0]).replace("Infinity", "1e999"), "param_mean"),
    ],
)
def test_malformed_metadata_is_one_model_error(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    """Kinds 3-4: sizes over the limits, deep JSON, booleans, nested or non-finite numbers."""
    model = write_bundle(tmp_path / "m.onnx", metadata(**{key: value}))
    with pytest.raises(ModelError, match=message):
        read_bundle(model)


def test_info_on_deep_provenance_is_one_line(tmp_path: Path) -> None:
    model = write_bundle(tmp_path / "m.onnx", metadata(provenance="[" * 50_000 + "]" * 50_000))
    code, lines = _cli("info", str(model))
    assert code == 1 and len(lines) == 1 and "nested more than" in lines[0]


def test_external_data_escaping_the_model_folder_is_refused(tmp_path: Path) -> None:
    """ONNX Runtime (>= the floor in pyproject.toml) refuses external data outside the folder."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(256, dtype=np.float32).tobytes())
    folder = tmp_path / "bundle"
    folder.mkdir()
    for location in ("../secret.bin", str(secret)):
        model = write_bundle(folder / "m.onnx", metadata(), external=location)
        with pytest.raises(ModelError, match="not a loadable ONNX model"):
            read_bundle(model)
    # the same model with its data inside the folder loads
    (folder / "w.bin").write_bytes(secret.read_bytes())
    assert read_bundle(write_bundle(folder / "m.onnx", metadata(), external="w.bin")).pad_to == 100


@pytest.mark.slow
def test_fuzz_bundle_metadata() -> None:
    """Only ModelError escapes parse_metadata, under an address-space limit."""
    run_sandboxed("tests.hostile.fuzz_bundle:fuzz_metadata")


def test_domain_errors_are_cmp_edge_errors() -> None:
    assert issubclass(ModelError, CmpEdgeError) and issubclass(FaceModelError, CmpEdgeError)
