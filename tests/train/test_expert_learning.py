"""The image -> 3DMM expert can fit a handful of distinct face images.

Guards the expert's training path (image loading and normalisation, targets,
whitening, the shape/expression slice of the outputs, the optimiser): on eight
identities with one random-texture image each, the whitened MSE must fall far below 1 (the loss
of predicting the mean). On the synthetic corpus the expert's loss falls slowly
for another reason (most whitened coefficients barely change the render; see
train/README.md), which this test does not cover.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.train.corpus import make_corpus, write_png
from train import expert


@pytest.mark.slow
def test_expert_overfits_a_few_distinct_images(tmp_path: Path) -> None:
    data = make_corpus(tmp_path / "c", n_train=8, n_test=2, utterances=1, faces=1, seed=3)
    rng = np.random.default_rng(0)
    for png in sorted((data / "faces").glob("*/0.png")):  # distinct textured images
        write_png(png, rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    run = tmp_path / "exp"
    argv = ["--data", str(data), "--out", str(run), "--steps", "150", "--seed", "0"]
    argv += ["--batch-size", "8", "--mobilenet-width", "0.25", "--mobilenet-last-channel", "64"]
    argv += ["--lr", "2e-3", "--threads", "2", "--progress", "off", "--log-every", "10"]
    assert expert.main(argv) == 0
    with (run / "log.csv").open() as handle:
        losses = [float(row["loss"]) for row in csv.DictReader(handle)]
    assert losses[0] > 0.5
    assert min(losses[-3:]) < 0.3
