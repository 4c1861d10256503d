"""Loaders on a tiny generated corpus and on broken inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.train.corpus import make_corpus, write_png
from train import data as D
from train import samplers as S


def test_split_by_name() -> None:
    assert D.split_of("Adele") == "test"
    assert D.split_of("eve") == "test"
    assert D.split_of("Fred") == "train"
    assert D.split_of("Zoe") == "train"


def test_meta_and_splits(corpus: Path) -> None:
    meta = D.read_meta(corpus / "vox1_meta.csv")
    assert len(meta) == 9 and meta[0].vox_id == "id10001" and meta[0].gender == "m"
    train = D.VoxCeleb3D(corpus, "train")
    test = D.VoxCeleb3D(corpus, "test")
    assert len(train) == 6 and len(test) == 3
    assert all(D.split_of(s.identity.name) == "train" for s in train.speakers)
    sp = train.speakers[0]
    assert len(sp.utterances) == 3 and len(sp.faces) == 2 and len(sp.images) == 2
    assert sp.targets.shape == (2, 51) and sp.targets[0, 0] == 1.0
    params = np.load(sp.faces[0])
    np.testing.assert_array_equal(sp.targets[0, 1:41], params[:40])
    np.testing.assert_array_equal(sp.targets[0, 41:], params[199:209])
    mean, std = train.whitening(scale_std=0.5)
    assert mean.shape == (51,) and mean[0] == 1.0 and std[0] == 0.5 and np.all(std > 0)


def test_triplet_batches(corpus: Path) -> None:
    train = D.VoxCeleb3D(corpus, "train")
    sampler = S.TripletSampler(train, batch_size=8, seed=3, crop=(30, 200))
    b = sampler.batch(5)
    length = b.anchor.shape[2]
    assert 30 <= length <= 200
    for x in (b.anchor, b.positive, b.negative):
        assert tuple(x.shape) == (8, 64, length)
    assert bool((b.speaker != b.negative_speaker).all())
    assert b.target.shape == (8, 51)
    # Deterministic in (seed, step, rank); ranks differ but share the crop length.
    again = sampler.batch(5)
    assert bool((again.anchor == b.anchor).all())
    r0, r1 = sampler.batch(5, 0, 2), sampler.batch(5, 1, 2)
    assert r0.anchor.shape == r1.anchor.shape == (4, 64, length)
    assert not bool((r0.anchor == r1.anchor).all())


def test_positive_is_another_utterance_of_the_speaker(corpus: Path) -> None:
    train = D.VoxCeleb3D(corpus, "train")
    long = S.TripletSampler(train, batch_size=16, seed=0, crop=(500, 500))
    b = long.batch(0)  # crops longer than every utterance: whole utterances tiled
    for i in range(16):
        sp = train.speakers[int(b.speaker[i])]
        first = [train.features(u)[0] for u in sp.utterances]
        ia = [j for j, f in enumerate(first) if np.array_equal(f, b.anchor[i, :, 0].numpy())]
        ip = [j for j, f in enumerate(first) if np.array_equal(f, b.positive[i, :, 0].numpy())]
        assert ia and ip and ia != ip


def test_crop_or_tile() -> None:
    rng = np.random.default_rng(0)
    x = np.arange(10 * 64, dtype=np.float32).reshape(10, 64)
    tiled = D.crop_or_tile(x, 25, rng)
    assert tiled.shape == (25, 64)
    np.testing.assert_array_equal(tiled[10:20], x)
    crop = D.crop_or_tile(x, 4, rng)
    start = int(crop[0, 0]) // 64
    np.testing.assert_array_equal(crop, x[start : start + 4])


def test_images(corpus: Path) -> None:
    train = D.VoxCeleb3D(corpus, "train", require_images=True)
    sampler = S.ImageSampler(train, batch_size=5, seed=0, size=40)
    b = sampler.batch(0)
    assert tuple(b.images.shape) == (5, 3, 40, 40)
    assert float(b.images.min()) >= -1.0 and float(b.images.max()) <= 1.0
    assert b.target.shape == (5, 51)


@pytest.mark.parametrize("filt", [1, 2, 3, 4])
def test_load_png_filters(tmp_path: Path, filt: int) -> None:
    from tests.render.pngref import filter_rows, png_bytes

    rng = np.random.default_rng(filt)
    img = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    path = tmp_path / "f.png"
    path.write_bytes(png_bytes(5, 7, 2, filter_rows(img.reshape(7, 15), filt, 3)))
    np.testing.assert_array_equal(D.load_png(path), img)


def test_png_roundtrip_and_errors(tmp_path: Path) -> None:
    img = np.random.default_rng(0).integers(0, 256, size=(6, 9, 3), dtype=np.uint8)
    write_png(tmp_path / "a.png", img)
    np.testing.assert_array_equal(D.load_png(tmp_path / "a.png"), img)
    (tmp_path / "b.png").write_bytes(b"not a png")
    with pytest.raises(D.DataError, match="b.png"):
        D.load_png(tmp_path / "b.png")
    with pytest.raises(D.DataError, match="not found"):
        D.load_png(tmp_path / "missing.png")


def test_broken_files(tmp_path: Path) -> None:
    np.save(tmp_path / "f.npy", np.zeros((10, 63), np.float32))
    with pytest.raises(D.DataError, match=r"f\.npy: features must have shape \(T, 64\)"):
        D.load_features(tmp_path / "f.npy")
    np.save(tmp_path / "n.npy", np.full((10, 64), np.nan, np.float32))
    with pytest.raises(D.DataError, match="NaN"):
        D.load_features(tmp_path / "n.npy")
    (tmp_path / "g.npy").write_bytes(b"garbage")
    with pytest.raises(D.DataError, match="g.npy: not a readable"):
        D.load_features(tmp_path / "g.npy")
    np.save(tmp_path / "p.npy", np.zeros(227, np.float32))
    with pytest.raises(D.DataError, match="228 values"):
        D.load_face_params(tmp_path / "p.npy")
    (tmp_path / "x.xyz").write_text("1 2\n3 4\n")
    with pytest.raises(D.DataError, match="x.xyz"):
        D.load_xyz(tmp_path / "x.xyz")
    (tmp_path / "ok.xyz").write_text("1 2 3\n4 5 6\n")
    assert D.load_xyz(tmp_path / "ok.xyz").shape == (2, 3)


def test_broken_meta(tmp_path: Path) -> None:
    with pytest.raises(D.DataError, match="metadata file not found"):
        D.read_meta(tmp_path / "vox1_meta.csv")
    bad = tmp_path / "m.csv"
    bad.write_text("a,b,c\n")
    with pytest.raises(D.DataError, match="header"):
        D.read_meta(bad)
    bad.write_text("VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\nid1\tX\tq\tUK\tdev\n")
    with pytest.raises(D.DataError, match=r"m.csv:2: gender"):
        D.read_meta(bad)
    bad.write_text("VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\nid1\tX\n")
    with pytest.raises(D.DataError, match=r"m.csv:2: expected 5"):
        D.read_meta(bad)


def test_broken_corpus(tmp_path: Path) -> None:
    root = make_corpus(tmp_path / "c", n_train=2, n_test=1, utterances=2, faces=1)
    with pytest.raises(D.DataError, match="data folder not found"):
        D.VoxCeleb3D(tmp_path / "nope")
    shutil.rmtree(root / "faces")
    with pytest.raises(D.DataError, match="faces folder not found"):
        D.VoxCeleb3D(root)
    root = make_corpus(tmp_path / "d", n_train=2, n_test=1, utterances=2, faces=1)
    for p in (root / "faces").glob("F*/*.npy"):
        p.unlink()
    one = D.VoxCeleb3D(root, "train")  # the identity without faces is skipped
    assert len(one) == 1
    with pytest.raises(D.DataError, match="at least 2 speakers"):
        S.TripletSampler(one, 4, 0)
    shutil.rmtree(root / "preprocessed_MFCC")
    with pytest.raises(D.DataError, match="voice folder not found"):
        D.VoxCeleb3D(root, "train")


def test_wav_source_is_computed_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_corpus(tmp_path / "w", n_train=2, n_test=0, utterances=1, faces=1)
    for p in (root / "preprocessed_MFCC").rglob("*.npy"):
        wav = root / "wav" / p.relative_to(root / "preprocessed_MFCC").with_suffix(".wav")
        wav.parent.mkdir(parents=True, exist_ok=True)
        wav.write_bytes(b"RIFF")
    calls: list[str] = []

    def fake_load(path: Path) -> tuple[np.ndarray, int]:
        calls.append(str(path))
        return np.zeros(1600, np.float32), 16000

    def fake_features(samples: np.ndarray, rate: int) -> np.ndarray:
        return np.ones((1000, 64), np.float32)

    import cmp_edge.audio
    import cmp_edge.features

    monkeypatch.setattr(cmp_edge.audio, "load", fake_load)
    monkeypatch.setattr(cmp_edge.features, "cmp_features", fake_features)
    data = D.VoxCeleb3D(root, "train", features="wav", cache_dir=tmp_path / "cache")
    assert data.source == "wav"
    utt = data.speakers[0].utterances[0]
    assert data.features(utt).shape == (1000, 64)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 1
    fresh = D.VoxCeleb3D(root, "train", features="wav", cache_dir=tmp_path / "cache")
    fresh.features(utt)
    assert len(calls) == 1  # the second read came from the cache
