"""A short supervised run learns: it beats the mean-shape oracle on held-out identities.

Uses the tests' own tiny corpus, whose voices carry the first shape parameters
strongly, so that a few hundred CPU steps suffice (the synthetic corpus of
``train.synth`` plants a partial, realistic correlation that needs far longer runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.train.conftest import TinyFaceModel
from tests.train.corpus import make_corpus
from train import evaluate, supervised


@pytest.mark.slow
def test_short_supervised_run_beats_the_mean_shape_oracle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_corpus(
        tmp_path / "c", n_train=24, n_test=8, utterances=3, faces=1, seed=1, other_scale=0.1
    )
    run = tmp_path / "sup"
    argv = ["--data", str(data), "--out", str(run), "--steps", "150", "--seed", "0"]
    argv += ["--batch-size", "16", "--encoder-width", "0.125", "--crop-min", "40"]
    argv += ["--crop-max", "80", "--lr", "2e-3", "--dropout", "0", "--threads", "2"]
    argv += ["--progress", "off", "--log-every", "50"]
    assert supervised.main(argv) == 0
    monkeypatch.setattr(evaluate, "load_face_model", lambda spec: TinyFaceModel())
    out = tmp_path / "e.json"
    ev = ["--data", str(data), "--ckpt", str(run / "last.pt"), "--json", str(out)]
    assert evaluate.main([*ev, "--consistency-vertices", "20"]) == 0
    methods = {m["kind"]: m for m in json.loads(out.read_text())["methods"]}
    oracle = json.loads(out.read_text())["methods"][0]
    assert oracle["method"] == "mean shape"
    assert methods["supervised"]["mean"] < 0.8 * oracle["mean"]
