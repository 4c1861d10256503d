"""Small synthetic corpora generated once per test session."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from train import synth

SMALL = synth.CorpusSettings(
    identities=10, utterances=2, seed=3, utterance_seconds=(2.5, 4.0), images_per_train_identity=2
)
CORRELATION = synth.CorpusSettings(
    identities=48, utterances=2, seed=11, utterance_seconds=(3.0, 3.0), images=False
)
UNCOUPLED = dataclasses.replace(CORRELATION, utterances=1, coupling=0.0)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[synth.IdentitySpec]]:
    """10 identities x 2 utterances with images, written with 2 workers."""
    out = tmp_path_factory.mktemp("small") / "corpus"
    specs = synth.generate(out, SMALL, workers=2)
    return out, specs


@pytest.fixture(scope="session")
def correlation_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 identities x 2 utterances of 3 s, no images."""
    out = tmp_path_factory.mktemp("corr") / "corpus"
    synth.generate(out, CORRELATION, workers=2)
    return out


@pytest.fixture(scope="session")
def uncoupled_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like ``correlation_corpus`` but with --coupling 0 and one utterance each."""
    out = tmp_path_factory.mktemp("uncoupled") / "corpus"
    synth.generate(out, UNCOUPLED, workers=2)
    return out
