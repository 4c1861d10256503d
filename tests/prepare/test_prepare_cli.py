"""train.prepare on bad input (every file reported, the run goes on), resume, shards + merge."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="train.prepare needs PyAV: pip install -e '.[prepare]'")

from cmp_edge.errors import CmpEdgeError  # noqa: E402
from tests.prepare.talking_heads import encode_video, make_talking_heads  # noqa: E402
from train.data import split_of  # noqa: E402
from train.prepare.cli import main as prepare  # noqa: E402
from train.prepare.detect import DetectedFace, choose_face, read_sidecar  # noqa: E402
from train.prepare.inputs import discover, kind_of, select_shard  # noqa: E402


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        delimiter = "\t" if path.name.endswith("meta.csv") else ","
        return list(csv.DictReader(handle, delimiter=delimiter))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prep") / "in"
    good = make_talking_heads(root, 2, seed=3, seconds=2.0, frames=4, size=128)
    a = root / good[0].name
    # a video without audio, a corrupt video, a text file, a too-short recording
    frames = [np.asarray(np.full((64, 64, 3), 90), np.uint8)] * 3
    encode_video(a / "Silent.MOV", frames, 10, None)
    empty = {"frames": [{"time": k / 10, "faces": []} for k in range(3)]}
    (a / "Silent.MOV.landmarks.json").write_text(json.dumps(empty))
    (a / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 500)
    (a / "notes.txt").write_text("hello")
    import soundfile

    soundfile.write(a / "short.wav", np.zeros(4000, np.float32), 16000)  # 0.25 s
    # a speaker whose only video shows no face (empty landmark list) -> incomplete
    c = root / "Nobody"
    c.mkdir()
    shutil.copy(root / good[1].name / "talk.mp4", c / "talk.mp4")
    entry = [{"time": k / 10, "faces": []} for k in range(4)]
    (c / "talk.mp4.landmarks.json").write_text(json.dumps({"frames": entry}))
    with (root / "speakers.csv").open("a") as handle:
        handle.write("Nobody,m\n")
    return root


def test_bad_inputs_are_reported_per_file(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert prepare([str(inputs), str(out), "--workers", "1", "-q"]) == 0
    files = {Path(r["file"]).name + "@" + r["speaker"]: r for r in _rows(out / "summary.csv")}
    first = sorted(p.name for p in inputs.iterdir() if p.is_dir() and p.name != "Nobody")[0]
    assert files[f"Silent.MOV@{first}"]["kind"] == "video"  # upper-case extension
    silent = files[f"Silent.MOV@{first}"]
    assert silent["message"] == "no audio stream; no face found (3 of 3); no usable face"
    assert files[f"broken.mp4@{first}"]["status"] == "error"
    assert files[f"short.wav@{first}"]["message"] == "audio only 0.25 s long"
    assert files[f"short.wav@{first}"]["status"] == "unused"
    assert files[f"notes.txt@{first}"]["status"] == "error"
    assert "unknown file type" in files[f"notes.txt@{first}"]["message"]
    nobody = files["talk.mp4@Nobody"]
    assert "no face found (4 of 4)" in nobody["message"] and nobody["images"] == "0"
    meta = _rows(out / "vox1_meta.csv")
    assert sorted(r["VGGFace1 ID"] for r in meta) == sorted(
        p.name for p in inputs.iterdir() if p.is_dir() and p.name != "Nobody"
    )
    totals = json.loads((out / "summary.json").read_text())
    assert totals["incomplete"] == {"Nobody": "no usable face"}
    assert totals["file_errors"] == 2
    residuals = _rows(out / "residuals.csv")
    assert len(residuals) == 8 and all(float(r["nme"]) < 0.05 for r in residuals)
    qa = sorted((out / "qa" / first).glob("*.png"))
    assert len(qa) == 4
    # the Set column follows the name split (A-E test), as train.data reads it
    assert all((r["Set"] == "test") == (split_of(r["VGGFace1 ID"]) == "test") for r in meta)
    # resume: a second run reuses the finished speakers' records and redoes the others
    stamp = (out / "faces" / first / "0.npy").stat().st_mtime_ns
    record = out / ".prepare" / "done" / "Nobody.json"
    incomplete_stamp = record.stat().st_mtime_ns
    assert prepare([str(inputs), str(out), "--workers", "1", "-q"]) == 0
    assert (out / "faces" / first / "0.npy").stat().st_mtime_ns == stamp
    assert record.stat().st_mtime_ns != incomplete_stamp


def test_sidecar_times_between_frames_and_nothing_usable(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = sorted(p for p in inputs.iterdir() if p.is_dir() and p.name != "Nobody")[1]
    root = tmp_path / "in"
    (root / "Frank").mkdir(parents=True)
    shutil.copy(src / "talk.mp4", root / "Frank" / "talk.mp4")
    marks = json.loads((src / "talk.mp4.landmarks.json").read_text())
    for entry in marks["frames"]:  # 10 fps: 40 ms after each frame starts, still on screen
        entry["time"] = round(entry["time"] + 0.04, 3)
    (root / "Frank" / "talk.mp4.landmarks.json").write_text(json.dumps(marks))
    (root / "speakers.csv").write_text("speaker,gender\nFrank,m\nGhost,f\n")
    assert prepare([str(root), str(tmp_path / "out"), "--workers", "1", "-q"]) == 0
    assert "1 speaker(s) without a folder ignored (Ghost)" in capsys.readouterr().err
    row = _rows(tmp_path / "out" / "summary.csv")[0]
    assert row["status"] == "ok" and row["images"] == "4", row
    # a second run keeps the finished speaker and says so
    assert prepare([str(root), str(tmp_path / "out"), "--workers", "1", "-q"]) == 0
    assert "1 speaker(s) finished by an earlier run are kept" in capsys.readouterr().err
    # no usable speaker at all: exit status 1 with a one-line error
    (root / "Frank" / "talk.mp4.landmarks.json").write_text(json.dumps({"frames": []}))
    assert prepare([str(root), str(tmp_path / "none"), "--workers", "1", "-q"]) == 1
    assert "no speaker is complete" in capsys.readouterr().err
    row = _rows(tmp_path / "none" / "summary.csv")[0]
    assert "talk.mp4.landmarks.json lists no frames" in row["message"], row


def test_shards_and_merge_equal_one_run(inputs: Path, tmp_path: Path) -> None:
    for i in range(2):
        argv = [str(inputs), str(tmp_path / f"s{i}"), "--shard", f"{i}/2", "-q"]
        assert prepare([*argv, "--workers", "1"]) == 0
        assert not (tmp_path / f"s{i}" / "vox1_meta.csv").exists()
    shards = [str(tmp_path / "s0"), str(tmp_path / "s1")]
    assert prepare(["merge", str(tmp_path / "all"), *shards]) == 0
    meta = _rows(tmp_path / "all" / "vox1_meta.csv")
    # Nobody is id10002 (ids follow the names of all speakers, in every shard)
    assert len(meta) == 2 and {r["VoxCeleb1 ID"] for r in meta} == {"id10001", "id10003"}
    assert len(_rows(tmp_path / "all" / "summary.csv")) == 9


def test_inputs_rules(tmp_path: Path) -> None:
    assert kind_of(Path("a.JPG")) == "photo" and kind_of(Path("b.M4A")) == "audio"
    assert kind_of(Path("c.Mp4")) == "video" and kind_of(Path("d.doc")) is None
    (tmp_path / "Zed").mkdir()
    with pytest.raises(CmpEdgeError, match="no gender for 1 speaker"):
        discover(tmp_path)
    sps = discover(tmp_path, "f")
    assert [(s.name, s.gender, s.vox_id) for s in sps] == [("Zed", "f", "id10001")]
    names = [f"S{i}" for i in range(7)]
    for n in names:
        (tmp_path / n).mkdir()
    all_sp = discover(tmp_path, "m")
    shards = [select_shard(all_sp, f"{i}/3") for i in range(3)]
    assert sorted(s.name for sh in shards for s in sh) == sorted(s.name for s in all_sp)
    with pytest.raises(CmpEdgeError, match="--shard"):
        select_shard(all_sp, "3/3")
    manifest = tmp_path / "m.csv"
    manifest.write_text("speaker,path,gender\nAnn,x/a.wav,f\nAnn,/abs/b.mp4,\n")
    (ann,) = discover(manifest)
    assert ann.gender == "f" and ann.files == [tmp_path / "x" / "a.wav", Path("/abs/b.mp4")]
    (tmp_path / "bad.csv").write_text("who,where\n")
    with pytest.raises(CmpEdgeError, match="speaker, path"):
        discover(tmp_path / "bad.csv")


def test_face_choice_rules() -> None:
    base = np.zeros((68, 2))
    base[:, 0] = np.linspace(100, 300, 68)
    base[:, 1] = np.linspace(100, 340, 68)

    def face(scale: float, dx: float = 0) -> DetectedFace:
        p = (base - 150) * scale + 150
        p[:, 0] += dx
        return DetectedFace(p)

    assert choose_face([], 600, 600, 24) == (None, "no face found")
    big, small = face(1.0), face(0.3, 120)
    chosen, why = choose_face([small, big], 600, 600, 24)
    assert chosen is big and why == ""
    chosen, why = choose_face([face(0.8, 150), big], 600, 600, 24)
    assert chosen is None and "2 faces of similar size" in why
    assert "too small" in choose_face([face(0.1)], 600, 600, 24)[1]
    assert "border" in choose_face([face(1.0, 295)], 600, 600, 24)[1]


def test_sidecar_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.jpg.landmarks.json"
    p.write_text("{")
    with pytest.raises(CmpEdgeError, match="not readable JSON"):
        read_sidecar(p)
    p.write_text(json.dumps({"faces": [[[0, 0]] * 67]}))
    with pytest.raises(CmpEdgeError, match="68"):
        read_sidecar(p)
    frames = [{"time": 2, "landmarks": [[1, 2]] * 68}, {"time": 1, "faces": []}]
    p.write_text(json.dumps({"frames": frames}))
    got = read_sidecar(p)
    assert [t for t, _ in got] == [1.0, 2.0] and len(got[1][1]) == 1
