"""The corpus is written completely, in the Voxceleb-3D layout of docs/architecture.md."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import soundfile

from cmp_edge.facemodel import FaceModel
from cmp_edge.output.png import read_png
from train import synth


def _meta(out: Path) -> list[dict[str, str]]:
    with open(out / "vox1_meta.csv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_meta_csv(small_corpus: tuple[Path, list[synth.IdentitySpec]]) -> None:
    out, specs = small_corpus
    header = (out / "vox1_meta.csv").read_text().splitlines()[0]
    assert header == "VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"
    rows = _meta(out)
    assert [r["VoxCeleb1 ID"] for r in rows] == [f"id{10001 + i}" for i in range(len(specs))]
    names = [r["VGGFace1 ID"] for r in rows]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert {r["Gender"] for r in rows} <= {"m", "f"}
    for r in rows:
        assert r["Set"] == ("test" if r["VGGFace1 ID"][0] in "ABCDE" else "dev")


def test_features_and_audio(small_corpus: tuple[Path, list[synth.IdentitySpec]]) -> None:
    out, specs = small_corpus
    for spec in specs:
        feats = sorted((out / "preprocessed_MFCC" / spec.vox_id).glob("*/*.npy"))
        wavs = sorted((out / "wav" / spec.vox_id).glob("*/*.wav"))
        assert len(feats) == len(wavs) == synth_settings_utterances(out)
        for f, w in zip(feats, wavs, strict=True):
            assert f.relative_to(out / "preprocessed_MFCC").with_suffix("") == w.relative_to(
                out / "wav"
            ).with_suffix("")
            assert f.parent.name.__len__() == 11 and f.stem.isdigit() and len(f.stem) == 5
            x = np.load(f)
            assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 64
            assert x.shape[0] >= 1000 and np.isfinite(x).all()
            info = soundfile.info(str(w))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            pcm, _ = soundfile.read(str(w), dtype="int16")
            assert 2.5 * 16000 <= len(pcm) <= 4.0 * 16000 + 1
            peak = int(np.abs(pcm.astype(np.int32)).max())
            assert 0.2 * 32767 < peak < 0.9 * 32767  # audible and never clipped


def synth_settings_utterances(out: Path) -> int:
    return int(json.loads((out / "synth.json").read_text())["settings"]["utterances"])


def test_faces(small_corpus: tuple[Path, list[synth.IdentitySpec]]) -> None:
    out, specs = small_corpus
    images = []
    for spec in specs:
        folder = out / "faces" / spec.name
        expected = 1 if spec.split == "test" else 2
        assert len(list(folder.glob("*.npy"))) == expected
        for k in range(expected):
            params = np.load(folder / f"{k}.npy")
            assert params.dtype == np.float32 and params.shape == (228,)
            np.testing.assert_array_equal(params[:40], spec.shape.astype(np.float32))
            np.testing.assert_array_equal(params[199:209], spec.expr.astype(np.float32))
            assert not params[40:199].any() and not params[209:].any()
            xyz = np.loadtxt(folder / f"{k}.xyz")
            assert xyz.ndim == 2 and xyz.shape[1] == 3
            obj = (folder / f"{k}.obj").read_text()
            assert obj.count("\nv ") + obj.startswith("v ") == len(xyz)
            image = read_png(folder / f"{k}.png") if k == 0 else None
            if image is not None:
                images.append(image)
    for image in images:
        assert image.shape == (128, 128, 3)
        corners = image[[0, 0, -1, -1], [0, -1, 0, -1]].astype(int)
        assert (corners == corners[0]).all()  # uniform background
        centre = image[48:80, 48:80].astype(int)
        # the face covers the middle
        assert (np.abs(centre - corners[0]).sum(axis=2) > 0).mean() > 0.9
    diffs = [
        np.abs(a.astype(int) - b.astype(int)).mean()
        for a, b in zip(images, images[1:], strict=False)
    ]
    assert min(diffs) > 2.0


def test_xyz_is_the_reconstruction(small_corpus: tuple[Path, list[synth.IdentitySpec]]) -> None:
    out, specs = small_corpus
    spec = specs[0]
    model = FaceModel.default()
    expected = model.reconstruct(spec.shape.astype(np.float32), spec.expr.astype(np.float32))
    xyz = np.loadtxt(out / "faces" / spec.name / "0.xyz")
    np.testing.assert_allclose(xyz, expected, atol=1e-3)


def test_synth_json(small_corpus: tuple[Path, list[synth.IdentitySpec]]) -> None:
    out, specs = small_corpus
    info = json.loads((out / "synth.json").read_text())
    assert info["seed"] == 3 and info["settings"]["identities"] == len(specs)
    assert isinstance(info["face_model_id"], str) and info["face_model_id"]
    assert len(info["identities"]) == len(specs)
    for record, spec in zip(info["identities"], specs, strict=True):
        assert record["vox_id"] == spec.vox_id and record["name"] == spec.name
        assert set(record["geometry"]) >= {"head_width", "face_height", "jaw_ratio"}
        assert 9.0 < record["speaker"]["vtl_cm"] < 25.0
        assert 50.0 < record["speaker"]["f0_hz"] < 500.0
