"""The expert's face-only pool (train.face_pool), its sampler and the expert's losses."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from train import expert
from train.data import DataError, VoxCeleb3D
from train.face_pool import POOL_STREAM, render_pool
from train.samplers import ImageSampler


def test_pool_is_a_pure_function_of_its_arguments() -> None:
    images, params = render_pool(5, 3, 24, workers=1)
    assert images.shape == (5, 24, 24, 3) and images.dtype == np.uint8
    assert params.shape == (5, 51) and params.dtype == np.float32
    again = render_pool(5, 3, 24, workers=2)
    assert np.array_equal(again[0], images) and np.array_equal(again[1], params)
    other = render_pool(5, 4, 24, workers=1)
    assert not np.array_equal(other[1], params)
    assert render_pool(0, 3, 24)[0].shape == (0, 24, 24, 3)
    with pytest.raises(ValueError):
        render_pool(-1, 3, 24)


def test_pool_targets_are_the_prior_draws() -> None:
    _, params = render_pool(4, 11, 16)
    assert np.all(params[:, 0] == 1.0)
    for i in range(4):
        rng = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(POOL_STREAM, i)))
        assert np.array_equal(params[i, 1:41], rng.standard_normal(40).astype(np.float32))
        assert np.array_equal(params[i, 41:], rng.standard_normal(10).astype(np.float32))


def test_pool_images_show_a_face_on_a_plain_background() -> None:
    images, _ = render_pool(6, 0, 48)
    im = images.astype(np.int32)
    corners = im[:, [0, 0, -1, -1], [0, -1, 0, -1]]  # (6, 4, 3)
    assert np.all(corners == corners[:, :1])  # uniform background
    centre = im[:, 20:28, 20:28].reshape(6, -1, 3)
    assert np.all(np.abs(centre - corners[:, :1]).sum(axis=2).mean(axis=1) > 10)
    assert len({img.tobytes() for img in images}) == 6


def test_image_sampler_mixes_corpus_and_pool(corpus: Path) -> None:
    data = VoxCeleb3D(corpus, "train")
    plain = ImageSampler(data, 8, 0, 32)
    pool_targets = np.arange(4 * 51, dtype=np.float32).reshape(4, 51)
    mixed = ImageSampler(data, 8, 0, 32)
    assert mixed.image_size == 32
    mixed.add_pool(np.full((4, 32, 32, 3), 7, np.uint8), pool_targets)
    assert len(mixed) == len(plain) + 4
    seen_pool = seen_corpus = 0
    for step in range(12):
        b = plain.batch(step)
        for s, t in zip(b.speaker.tolist(), b.target, strict=True):
            assert s >= 0 and any(np.array_equal(t, x) for x in data.speakers[s].targets)
        m = mixed.batch(step)
        for s, t, img in zip(m.speaker.tolist(), m.target.numpy(), m.images, strict=True):
            if s < 0:
                seen_pool += 1
                assert any(np.array_equal(t, x) for x in pool_targets)
                assert float(img.max()) == pytest.approx(7 / 127.5 - 1.0)
            else:
                seen_corpus += 1
    assert seen_pool > 0 and seen_corpus > 0
    with pytest.raises(DataError, match="face pool"):
        mixed.add_pool(np.zeros((2, 16, 16, 3), np.uint8), pool_targets[:2])
    with pytest.raises(DataError, match="face pool"):
        mixed.add_pool(np.zeros((2, 32, 32, 3), np.uint8), pool_targets[:3])


def _default_model_corpus(corpus: Path, root: Path) -> Path:
    """A copy of the tiny corpus that claims the default face model (pool-compatible)."""
    from cmp_edge.facemodel import FaceModel

    data = root / "c"
    shutil.copytree(corpus, data)
    (data / "synth.json").write_text(json.dumps({"face_model_id": str(FaceModel.default().id)}))
    return data


def test_expert_with_pool_and_landmark_loss(corpus: Path, tmp_path: Path) -> None:
    data = _default_model_corpus(corpus, tmp_path)
    run = tmp_path / "exp"
    argv = ["--data", str(data), "--out", str(run), "--steps", "3", "--seed", "0"]
    argv += ["--batch-size", "6", "--mobilenet-width", "0.25", "--mobilenet-last-channel", "32"]
    argv += ["--threads", "1", "--progress", "off", "--log-every", "1", "--render-faces", "10"]
    argv += ["--render-workers", "1", "--param-weight", "0.5", "--landmark-weight", "0.25"]
    assert expert.main(argv) == 0
    with (run / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    for row in rows:
        param, landmark = float(row["param_mse"]), float(row["landmark_mse"])
        assert landmark > 0  # mm^2 between predicted and true landmarks of random faces
        assert float(row["loss"]) == pytest.approx(0.5 * param + 0.25 * landmark, rel=1e-5)


def test_render_faces_needs_the_default_face_model(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data", str(corpus), "--out", str(tmp_path / "e"), "--steps", "1"]
    argv += ["--mobilenet-width", "0.25", "--progress", "off", "--render-faces", "4"]
    assert expert.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--render-faces" in err and "test-face-model" in err and "\n" not in err


def test_distill_trains_an_inline_expert_with_a_pool(corpus: Path, tmp_path: Path) -> None:
    from train import distill, engine, voice_encoder

    data = _default_model_corpus(corpus, tmp_path)
    common = ["--data", str(data), "--seed", "1", "--batch-size", "6", "--threads", "1"]
    common += ["--progress", "off", "--encoder-width", "0.125", "--crop-min", "40"]
    common += ["--crop-max", "60"]
    enc = tmp_path / "enc"
    assert voice_encoder.main([*common, "--out", str(enc), "--steps", "1"]) == 0
    run = tmp_path / "dis"
    argv = [*common, "--out", str(run), "--steps", "1", "--encoder", str(enc / "last.pt")]
    argv += ["--expert-steps", "2", "--expert-render-faces", "6", "--mobilenet-width", "0.25"]
    argv += ["--mobilenet-last-channel", "32", "--generator-width", "0.0625"]
    argv += ["--face-embed-width", "0.0625", "--mesh-vertices", "50"]
    assert distill.main(argv) == 0
    inline = engine.load_checkpoint(run / "expert" / "last.pt", "expert")
    assert inline["config"]["render_faces"] == 6 and inline["step"] == 2
    assert engine.load_checkpoint(run / "last.pt", "distill")["step"] == 1
