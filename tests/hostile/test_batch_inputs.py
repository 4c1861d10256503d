"""Batch manifests (kind 4) and output collisions (kind 6): refused up front, one line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cmp_edge.cli.manifest import batch_items
from cmp_edge.errors import AudioError, OutputError


def _cli(*argv: object) -> tuple[int, list[str]]:
    from cmp_edge.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, err.getvalue().strip().splitlines()


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"RIFF")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (json.dumps([{"file": "a.wav"}]), "item 1 has no path"),
        (json.dumps(["a.wav", 3]), "item 2 has no path"),
        (json.dumps({"path": "a.wav"}), "not a list"),
        ("[" * 100_000 + "]" * 100_000, "nested more than"),
        ("[NaN]", "not valid JSON"),
    ],
)
def test_json_manifest_errors(tmp_path: Path, text: str, message: str) -> None:
    _touch(tmp_path, "a.wav")
    (tmp_path / "list.json").write_text(text)
    with pytest.raises(AudioError, match=message):
        batch_items(tmp_path / "list.json", tmp_path / "out", "ply")


def test_csv_manifests(tmp_path: Path) -> None:
    _touch(tmp_path, "a.wav", "b.wav")
    cases = {
        "path,speaker\na.wav,1\nb.wav,2\n": ["a.wav", "b.wav"],
        "speaker,file\n1,a.wav\n2,b.wav\n": ["a.wav", "b.wav"],
        "name,speaker\na.wav,1\n\nb.wav,2\n": ["a.wav", "b.wav"],  # header of other names
        "a.wav\nb.wav\n": ["a.wav", "b.wav"],
    }
    for text, expected in cases.items():
        (tmp_path / "list.csv").write_text(text)
        items = batch_items(tmp_path / "list.csv", tmp_path / "out", "ply")
        assert [i.name for i, _ in items] == expected, text
    (tmp_path / "list.csv").write_text("speaker,path\n1,a.wav\n2\n")
    with pytest.raises(AudioError, match="row 3 has no path in column 2"):
        batch_items(tmp_path / "list.csv", tmp_path / "out", "ply")


def test_an_input_named_summary_is_refused(tmp_path: Path) -> None:
    """Kind 6: summary.wav -> summary.json would be replaced by the batch summary."""
    _touch(tmp_path / "in", "summary.wav", "b.wav")
    with pytest.raises(OutputError, match="would replace the batch's summary.json"):
        batch_items(tmp_path / "in", tmp_path / "out", "json")
    assert len(batch_items(tmp_path / "in", tmp_path / "out", "ply")) == 2  # no collision
    code, lines = _cli("batch", tmp_path / "in", "-o", tmp_path / "out", "--format", "json")
    assert code == 1 and len(lines) == 1 and "summary.json" in lines[0]
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize(
    "names", [["a/x.wav", "b/x.wav"], ["x.wav", "x.flac"], ["X.wav", "x.ogg"]], ids=str
)
def test_two_inputs_mapping_to_one_output(tmp_path: Path, names: list[str]) -> None:
    _touch(tmp_path, *names)
    (tmp_path / "list.txt").write_text("\n".join(names))
    with pytest.raises(OutputError, match="writes the same output"):
        batch_items(tmp_path / "list.txt", tmp_path / "out", "ply")
