"""The command line: help, argument errors, a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from train import synth


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        synth.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--identities", "--utterances", "--seed", "--utterance-seconds", "--no-images",
                 "--image-size", "--workers"):  # fmt: skip
        assert flag in text


@pytest.mark.parametrize(
    "args",
    [
        ["--identities", "0"],
        ["--utterance-seconds", "0.5"],
        ["--utterance-seconds", "1", "2", "3"],
        ["--coupling", "1.5"],
        ["--image-size", "4"],
    ],  # fmt: skip
)
def test_bad_arguments(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert synth.main([str(tmp_path / "out"), *args]) == 2
    assert capsys.readouterr().err.startswith("train.synth: error:")


def test_run_without_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c"
    argv = [str(out), "--identities", "2", "--utterances", "1", "--seed", "1", "--no-images",
            "--utterance-seconds", "2", "--workers", "1"]  # fmt: skip
    assert synth.main(argv) == 0
    assert "wrote 2 identities" in capsys.readouterr().out
    assert not list(out.rglob("*.png")) and len(list(out.rglob("*.npy"))) >= 4
    assert json.loads((out / "synth.json").read_text())["settings"]["images"] is False
    assert synth.main(argv) == 2  # not empty now
    assert synth.main([*argv, "--force"]) == 0
