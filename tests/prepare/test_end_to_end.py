"""End to end: synthetic talking-head videos -> train.prepare -> train.supervised -> evaluate.

The speakers are train.synth identities (default-model faces, voices coupled to the
face geometry); each has one MP4 (H.264 + AAC, 4 frames, landmarks given as
sidecar JSON with 0.5 px noise, so no detector is needed) and one FLAC recording.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="train.prepare needs PyAV: pip install -e '.[prepare]'")

from cmp_edge.facemodel import FaceModel  # noqa: E402
from cmp_edge.fitting.synthetic import scaled_vertex_rmse  # noqa: E402
from tests.prepare.talking_heads import make_talking_heads  # noqa: E402
from train.prepare.cli import main as prepare  # noqa: E402


@pytest.mark.slow
def test_videos_to_corpus_to_supervised_model(tmp_path: Path) -> None:
    from train import evaluate, supervised

    planted = make_talking_heads(tmp_path / "in", 24, seed=1, seconds=2.5, frames=4)
    out = tmp_path / "corpus"
    assert prepare([str(tmp_path / "in"), str(out), "--workers", "2", "-q"]) == 0
    totals = json.loads((out / "summary.json").read_text())
    assert totals["complete_speakers"] == 24 and totals["file_errors"] == 0
    assert totals["utterances"] == 48 and totals["images"] == 24 * 4

    # the fitted reference identities are close to the planted ones
    fm = FaceModel.default()
    fit_err, mean_err = [], []
    for sp in planted:
        params = np.load(out / "faces" / sp.name / "0.npy")
        truth = fm.reconstruct(sp.shape)
        fit_err.append(scaled_vertex_rmse(fm.reconstruct(params[:40]), truth))
        mean_err.append(scaled_vertex_rmse(fm.mean, truth))
    print(f"reference fit: {np.mean(fit_err):.2f} mm vs mean face {np.mean(mean_err):.2f} mm")
    assert np.mean(fit_err) < 0.6 * np.mean(mean_err)

    run = tmp_path / "sup"
    argv = ["--data", str(out), "--out", str(run), "--steps", "150", "--seed", "0"]
    argv += ["--batch-size", "16", "--encoder-width", "0.125", "--crop-min", "40"]
    argv += ["--crop-max", "80", "--lr", "2e-3", "--dropout", "0", "--threads", "2"]
    argv += ["--progress", "off", "--log-every", "50"]
    assert supervised.main(argv) == 0
    res = tmp_path / "e.json"
    ev = ["--data", str(out), "--ckpt", str(run / "last.pt"), "--json", str(res)]
    assert evaluate.main([*ev, "--consistency-vertices", "200"]) == 0
    methods = json.loads(res.read_text())["methods"]
    by = {m["method"]: m for m in methods}
    sup = next(m for m in methods if m["kind"] == "supervised")
    print("ARE", {k: round(v["mean"], 4) for k, v in by.items()})
    assert by["mean shape"]["kind"] == "oracle" and np.isfinite(sup["mean"])
