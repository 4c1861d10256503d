"""Same seed -> byte-identical corpus (whatever the worker count); another seed -> another."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from train import synth

TINY = synth.CorpusSettings(identities=3, utterances=2, seed=5, utterance_seconds=(2.0, 2.5))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    synth.generate(tmp_path / "a", TINY, workers=1)
    synth.generate(tmp_path / "b", TINY, workers=2)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        assert a[name] == b[name], name


def test_other_seed_other_corpus(tmp_path: Path) -> None:
    synth.generate(tmp_path / "a", TINY, workers=1)
    synth.generate(tmp_path / "b", dataclasses.replace(TINY, seed=6), workers=1)
    a = sorted((tmp_path / "a" / "preprocessed_MFCC").rglob("*.npy"))
    b = sorted((tmp_path / "b" / "preprocessed_MFCC").rglob("*.npy"))
    assert a and b
    assert {p.read_bytes() for p in a}.isdisjoint({p.read_bytes() for p in b})


def test_refuses_non_empty_output(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        synth.generate(tmp_path / "x", TINY)
    with pytest.raises(FileExistsError):
        synth.generate(tmp_path / "x" / "keep.txt", TINY, force=True)
