"""Voice-encoder, expert and distillation trainers and the evaluation, end to end (tiny)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from tests.train.conftest import TinyFaceModel
from train import distill, engine, evaluate, expert, voice_encoder

COMMON = ["--seed", "5", "--batch-size", "6", "--threads", "1", "--progress", "off"]
VOICE = ["--encoder-width", "0.125", "--crop-min", "40", "--crop-max", "60"]
MOBILE = ["--mobilenet-width", "0.25", "--mobilenet-last-channel", "32"]
GAN = ["--generator-width", "0.0625", "--face-embed-width", "0.0625", "--log-every", "1"]


@pytest.fixture(scope="module")
def runs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Voice encoder, expert, joint and GAN-only distillation runs on the tiny corpus."""
    mp = pytest.MonkeyPatch()
    mp.setattr(distill, "load_face_model", lambda spec: TinyFaceModel())
    root = tmp_path_factory.mktemp("runs")
    out = {k: root / k for k in ("enc", "exp", "joint", "gan")}
    data = ["--data", str(corpus)]
    try:
        assert (
            voice_encoder.main([*data, "--out", str(out["enc"]), "--steps", "2", *COMMON, *VOICE])
            == 0
        )
        assert expert.main([*data, "--out", str(out["exp"]), "--steps", "2", *COMMON, *MOBILE]) == 0
        enc, exp = str(out["enc"] / "last.pt"), str(out["exp"] / "last.pt")
        for mode in ("joint", "gan"):
            argv = [*data, "--out", str(out[mode]), "--steps", "2", *COMMON, *GAN]
            argv += ["--encoder", enc, "--expert", exp, "--mode", mode, *VOICE[2:]]
            assert distill.main(argv) == 0
    finally:
        mp.undo()
    return out


def test_voice_encoder_checkpoint(runs: dict[str, Path]) -> None:
    ck = engine.load_checkpoint(runs["enc"] / "last.pt", "voice_encoder")
    assert set(ck["model"]) == {"voice_encoder", "speaker_classifier"}
    assert ck["model"]["speaker_classifier"]["model.weight"].shape == (6, 64)


def test_expert_checkpoint(runs: dict[str, Path]) -> None:
    ck = engine.load_checkpoint(runs["exp"] / "last.pt", "expert")
    assert ck["model"]["expert"]["classifier_shape.1.weight"].shape == (40, 32)
    assert ck["face_model_id"] == "test-face-model"


def test_distill_checkpoints_and_losses(runs: dict[str, Path]) -> None:
    ck = engine.load_checkpoint(runs["joint"] / "last.pt", "distill")
    assert set(ck["model"]) == {
        "voice_encoder", "generator", "face_embed", "discriminator", "classifier",
        "student", "expert",
    }  # fmt: skip
    assert set(ck["optimizer"]) == {"discriminator", "generator"}
    assert ck["config"]["encoder_width"] == 0.125  # taken from the encoder checkpoint
    with (runs["joint"] / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"d_loss", "g_adv", "mesh_mse", "pkt", "triplet", "g_loss"} <= set(rows[0])
    with (runs["gan"] / "log.csv").open() as handle:
        assert "pkt" not in next(csv.DictReader(handle))


def test_distill_resume_is_exact(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distill, "load_face_model", lambda spec: TinyFaceModel())
    enc, exp = str(runs["enc"] / "last.pt"), str(runs["exp"] / "last.pt")
    base = ["--data", str(corpus), *COMMON, *GAN, "--encoder", enc, "--expert", exp]
    base += [*VOICE[2:], "--pkt-direction", "published"]
    out = tmp_path / "r"
    assert distill.main([*base, "--out", str(out), "--steps", "1"]) == 0
    assert distill.main([*base, "--out", str(out), "--steps", "2"]) == 0
    full = tmp_path / "f"
    assert distill.main([*base, "--out", str(full), "--steps", "2"]) == 0
    rows = [list(csv.DictReader((p / "log.csv").open())) for p in (out, full)]
    for key in ("d_loss", "g_loss", "pkt", "mesh_mse", "triplet"):
        assert rows[0][1][key] == rows[1][1][key]


def test_distill_init_starts_from_another_run(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(distill, "load_face_model", lambda spec: TinyFaceModel())
    enc, exp = str(runs["enc"] / "last.pt"), str(runs["exp"] / "last.pt")
    base = ["--data", str(corpus), *COMMON, *GAN, "--encoder", enc, "--expert", exp]
    base += [*VOICE[2:], "--steps", "1", "--mode", "joint", "--init", str(runs["gan"] / "last.pt")]
    out = tmp_path / "ft"
    assert distill.main([*base, "--out", str(out), "--lr", "0"]) == 0  # lr 0: weights stay
    src = engine.load_checkpoint(runs["gan"] / "last.pt")["model"]
    got = engine.load_checkpoint(out / "last.pt")["model"]
    for name in ("generator", "face_embed", "discriminator", "classifier", "student"):
        for k, v in src[name].items():
            if "running_" not in k and "num_batches" not in k:  # BatchNorm statistics move
                assert torch.equal(got[name][k], v), (name, k)
    fresh = engine.load_checkpoint(runs["joint"] / "last.pt")["model"]["generator"]
    assert any(not torch.equal(fresh[k], v) for k, v in src["generator"].items())
    wide = [*base, "--out", str(tmp_path / "w"), "--generator-width", "0.125"]
    assert distill.main(wide) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--init" in err and "generator" in err


def test_distill_rejects_a_wrong_face_model(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = TinyFaceModel()
    other.id = "another-model"
    monkeypatch.setattr(distill, "load_face_model", lambda spec: other)
    argv = ["--data", str(corpus), "--out", str(tmp_path / "x"), "--steps", "1", *COMMON]
    argv += ["--expert", str(runs["exp"] / "last.pt"), "--encoder", str(runs["enc"] / "last.pt")]
    assert distill.main(argv) == 2


def test_distill_requires_a_pretrained_encoder(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(distill, "load_face_model", lambda spec: TinyFaceModel())
    argv = ["--data", str(corpus), "--steps", "1", *COMMON, *GAN, *VOICE]
    argv += ["--expert", str(runs["exp"] / "last.pt")]
    assert distill.main([*argv, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--encoder is required" in err and "--train-encoder" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a" / "last.pt").exists()
    # the explicit flag trains an encoder from scratch with the generator
    assert distill.main([*argv, "--out", str(tmp_path / "b"), "--train-encoder"]) == 0
    ck = engine.load_checkpoint(tmp_path / "b" / "last.pt", "distill")
    assert ck["config"]["train_encoder"] is True
    # the published default: a given encoder stays frozen (weights unchanged)
    enc = engine.load_checkpoint(runs["enc"] / "last.pt")["model"]["voice_encoder"]
    joint = engine.load_checkpoint(runs["joint"] / "last.pt")
    assert joint["config"]["train_encoder"] is False
    for k, v in enc.items():
        assert torch.equal(joint["model"]["voice_encoder"][k], v), k
    # --encoder with --train-encoder fine-tunes it
    out = tmp_path / "c"
    enc_path = str(runs["enc"] / "last.pt")
    assert distill.main([*argv, "--out", str(out), "--encoder", enc_path, "--train-encoder"]) == 0
    tuned = engine.load_checkpoint(out / "last.pt")["model"]["voice_encoder"]
    assert not torch.equal(tuned["model.0.weight"], enc["model.0.weight"])


def test_evaluate_table_and_json(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(evaluate, "load_face_model", lambda spec: TinyFaceModel())
    out = tmp_path / "e.json"
    argv = ["--data", str(corpus), "--json", str(out), "--consistency-vertices", "20"]
    argv += ["--ckpt", str(runs["joint"] / "last.pt"), "--ckpt", str(runs["gan"] / "last.pt")]
    assert evaluate.main(argv) == 0
    result = json.loads(out.read_text())
    names = [m["method"] for m in result["methods"]]
    assert names[:2] == ["mean shape", "gender mean"]
    assert [m["kind"] for m in result["methods"]][2:] == ["distill", "cascade"]
    assert result["test_identities"] == 3
    for m in result["methods"]:
        assert set(m) >= {"ER", "FR", "MR", "CR", "mean", "consistency"}
        assert m["mean"] == pytest.approx((m["ER"] + m["FR"] + m["MR"] + m["CR"]) / 4)
        assert m["keypoint"] is None  # the tiny face model has no ibug landmarks
    assert result["methods"][0]["consistency"]["within_mean"] == 0.0
    table = capsys.readouterr().out
    assert "mean shape" in table and "baseline: generator + expert" in table
    assert "keypoint" in table
    # no ibug landmarks: no regions; the point error covers every vertex
    assert result["regions_source"] is None and result["point_vertices"] == 60
    assert all(m["regions"] is None and m["point"]["rigid"]["mean"] > 0 for m in result["methods"])
    assert "region error" not in table


class IbugFaceModel(TinyFaceModel):
    """The tiny face model with 68 ibug landmarks on vertices 10..59 (some repeated)."""

    def __init__(self) -> None:
        super().__init__()
        self.landmarks = {**self.landmarks, **{f"ibug_{k:02d}": 10 + k % 50 for k in range(68)}}


def test_evaluate_keypoint_error(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import numpy as np
    import torch

    from cmp_edge import metrics
    from train.data import VoxCeleb3D
    from train.models import TorchFaceModel

    fm = IbugFaceModel()
    monkeypatch.setattr(evaluate, "load_face_model", lambda spec: fm)
    out = tmp_path / "e.json"
    argv = ["--data", str(corpus), "--json", str(out), "--consistency-vertices", "5"]
    heat = tmp_path / "heat.png"
    argv += ["--heatmap", str(heat)]
    assert evaluate.main([*argv, "--ckpt", str(runs["joint"] / "last.pt")]) == 0
    result = json.loads(out.read_text())
    rows = result["methods"]
    from cmp_edge.output.render import read_png

    assert read_png(heat).shape == (3 * 256 + 2 * 4, 512, 3)  # one row per method
    assert result["heatmap"]["methods"] == [m["method"] for m in rows]
    assert all(isinstance(m["keypoint"], float) and m["keypoint"] > 0 for m in rows)
    # the mean-shape oracle, recomputed on the full mesh: per identity, then the mean
    layer = TorchFaceModel(fm)
    mean_shape = VoxCeleb3D(corpus, "train").all_targets().astype(np.float64).mean(axis=0)

    def mesh(p: np.ndarray) -> np.ndarray:
        return layer(torch.as_tensor(np.asarray(p, dtype=np.float32)[None]))[0].double().numpy()

    expect = np.mean(
        [
            metrics.keypoint_rmse(mesh(mean_shape), mesh(sp.targets[0]), fm.landmarks)
            for sp in VoxCeleb3D(corpus, "test").speakers
        ]
    )
    assert rows[0]["keypoint"] == pytest.approx(expect, rel=1e-5)
    table = capsys.readouterr().out
    assert f"{rows[0]['keypoint']:8.4f}" in table.splitlines()[3]
    # point and region errors of the oracle, recomputed on the full meshes over the
    # face model's regions (rigid and scaled Procrustes, mean over identities)
    regions = metrics.model_regions(fm)
    for align, scale in (("rigid", False), ("scaled", True)):
        errs = [
            metrics.point_error(
                mesh(mean_shape), mesh(sp.targets[0]), scale=scale, mask=regions.face
            )
            for sp in VoxCeleb3D(corpus, "test").speakers
        ]
        assert rows[0]["point"][align]["mean"] == pytest.approx(
            np.mean([e.mean for e in errs]), rel=1e-5
        )
        assert rows[0]["point"][align]["median"] == pytest.approx(
            np.mean([e.median for e in errs]), rel=1e-5
        )
        for k, name in enumerate(regions.names):
            if np.any(regions.labels == k):
                expect_r = np.mean([e.per_vertex[regions.labels == k].mean() for e in errs])
                assert rows[0]["regions"][align][name] == pytest.approx(expect_r, rel=1e-5)
    assert "pt mean" in table and "region error, rigid, mm" in table


def test_evaluate_rejects_non_voice_checkpoints(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(evaluate, "load_face_model", lambda spec: TinyFaceModel())
    argv = ["--data", str(corpus), "--json", str(tmp_path / "e.json")]
    assert evaluate.main([*argv, "--ckpt", str(runs["enc"] / "last.pt")]) == 2
    assert "does not map voices to faces" in capsys.readouterr().err


def test_evaluate_expert_on_the_photos(
    corpus: Path, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import numpy as np

    from tests.train.corpus import write_png

    monkeypatch.setattr(evaluate, "load_face_model", lambda spec: TinyFaceModel())

    def rows(data: Path) -> list[dict[str, object]]:
        out = tmp_path / f"{data.name}.json"
        argv = ["--data", str(data), "--json", str(out), "--consistency-vertices", "20"]
        assert evaluate.main([*argv, "--ckpt", str(runs["exp"] / "last.pt")]) == 0
        return list(json.loads(out.read_text())["methods"])

    first = rows(corpus)[2]
    assert first["kind"] == "expert" and str(first["method"]).startswith("expert on the photo")
    assert first["consistency"]["within_mean"] == 0.0  # type: ignore[index]
    # the row reads the photos: other photos, other predictions
    copy = tmp_path / "photos"
    shutil.copytree(corpus, copy)
    rng = np.random.default_rng(1)
    for png in sorted((copy / "faces").glob("[A-E]*/0.png")):
        write_png(png, rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    assert rows(copy)[2]["mean"] != first["mean"]
    for png in sorted((copy / "faces").glob("[A-E]*/0.png")):
        png.unlink()
    err = tmp_path / "err.json"
    argv = ["--data", str(copy), "--json", str(err), "--ckpt", str(runs["exp"] / "last.pt")]
    assert evaluate.main(argv) == 2 and not err.exists()
