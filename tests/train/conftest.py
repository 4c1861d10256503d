"""Fixtures of the trainer tests: a tiny corpus and a tiny face model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.train.corpus import make_corpus


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny read-only corpus (6 train + 3 test identities, 3 utterances, 2 faces)."""
    return make_corpus(tmp_path_factory.mktemp("corpus"))


class TinyFaceModel:
    """Stand-in with the FaceModel arrays the trainers read (60 vertices)."""

    def __init__(self, n: int = 60, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.mean = rng.normal(size=(n, 3)).astype(np.float32) * 50
        self.shape_basis = rng.normal(size=(3 * n, 40)).astype(np.float32)
        self.expr_basis = rng.normal(size=(3 * n, 10)).astype(np.float32) * 0.3
        self.triangles = np.array([[0, 1, 2]], dtype=np.int32)
        names = ["oicd", "forehead", "cheek", "ear", "mid"]
        self.landmarks = {
            f"{w}_{s}": 2 * i + (s == "right")
            for i, w in enumerate(names)
            for s in ("left", "right")
        }
        self.id = "test-face-model"


@pytest.fixture
def tiny_face_model() -> TinyFaceModel:
    """A small random linear face model."""
    return TinyFaceModel()
