"""The planted voice-geometry link: present in the audio, but partial."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile

from tests.synth._helpers import median_f0
from train import synth


def _pitch_vs_head_width(corpus: Path) -> float:
    """Pearson r between log median pitch (estimated from the wavs) and head width."""
    info = json.loads((corpus / "synth.json").read_text())
    widths, pitches = [], []
    for record in info["identities"]:
        estimates = []
        for utt in record["utterances"]:
            wav = corpus / "wav" / record["vox_id"] / f"{utt}.wav"
            pcm, _ = soundfile.read(str(wav), dtype="int16")
            estimates.append(median_f0(pcm))
        widths.append(record["geometry"]["head_width"])
        pitches.append(np.log(np.median(estimates)))
    return float(np.corrcoef(widths, pitches)[0, 1])


def test_pitch_correlates_with_head_width(correlation_corpus: Path) -> None:
    r = _pitch_vs_head_width(correlation_corpus)
    # bigger heads -> lower voices; clearly non-zero over 48 identities, but far from perfect
    assert -0.95 < r < -0.3, r


def test_no_coupling_no_correlation(uncoupled_corpus: Path) -> None:
    r = _pitch_vs_head_width(uncoupled_corpus)
    assert abs(r) < 0.3, r


def test_planted_scores_are_partial(correlation_corpus: Path) -> None:
    info = json.loads((correlation_corpus / "synth.json").read_text())
    planted = np.array([list(r["planted"].values()) for r in info["identities"]])
    voice = np.array([list(r["voice_factors"].values()) for r in info["identities"]])
    for j in range(planted.shape[1]):
        r = np.corrcoef(planted[:, j], voice[:, j])[0, 1]
        assert 0.5 < r < 0.97, (j, r)


def test_name_split_is_about_twenty_percent() -> None:
    names = synth._names(500, 0.2, np.random.default_rng(0))
    assert len(set(names)) == 500
    test = sum(n[0] in "ABCDE" for n in names)
    assert test == 100
    assert len({n[0] for n in names}) == 26
    assert all(n.count("_") == 1 and n.replace("_", "").isalpha() for n in names)
