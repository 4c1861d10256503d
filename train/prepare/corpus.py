"""The corpus-wide files of train.prepare: vox1_meta.csv, summary.csv, residuals.csv,
summary.json, built from the speakers' records; and merging shard outputs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from cmp_edge.errors import CmpEdgeError
from train.data import split_of
from train.prepare.speaker import record_path

__all__ = ["finish", "merge", "read_records"]

_FILE_COLUMNS = ("speaker", "file", "kind", "status", "utterances", "images", "message")
_RESIDUAL_COLUMNS = (
    "speaker",
    "file",
    "time",
    "width",
    "height",
    "rms_px",
    "nme",
    "yaw",
    "pitch",
    "roll",
    "used",
    "reason",
)
_TREES = ("preprocessed_MFCC", "wav", "faces", "qa", ".prepare")


def read_records(out: Path) -> list[dict[str, Any]]:
    """All finished speakers' records under ``out``, by name."""
    folder = record_path(out, "x").parent
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise CmpEdgeError(f"{path}: unreadable speaker record ({exc}); delete it") from None
    return sorted(records, key=lambda r: r["name"])


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def finish(out: Path) -> dict[str, Any]:
    """Write the corpus-wide files from the records; returns the totals."""
    records = read_records(out)
    complete = [r for r in records if r["status"] == "ok"]
    tmp = out / "vox1_meta.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["VoxCeleb1 ID", "VGGFace1 ID", "Gender", "Nationality", "Set"])
        for r in complete:
            split = "test" if split_of(r["name"]) == "test" else "dev"  # as VoxCeleb1 names it
            writer.writerow([r["vox_id"], r["name"], r["gender"], "unknown", split])
    tmp.replace(out / "vox1_meta.csv")
    _write_csv(out / "summary.csv", _FILE_COLUMNS, [f for r in records for f in r["files"]])
    _write_csv(
        out / "residuals.csv", _RESIDUAL_COLUMNS, [x for r in records for x in r["residuals"]]
    )
    files = [f for r in records for f in r["files"]]
    totals = {
        "speakers": len(records),
        "complete_speakers": len(complete),
        "incomplete": {r["name"]: r["message"] for r in records if r["status"] != "ok"},
        "files": len(files),
        "file_errors": sum(f["status"] == "error" for f in files),
        "utterances": sum(r["utterances"] for r in records),
        "images": sum(r["images"] for r in records),
        "face_models": sorted({r["face_model"] for r in records}),
    }
    if len(totals["face_models"]) > 1:
        raise CmpEdgeError(
            f"{out}: speakers were fitted with different face models {totals['face_models']}; "
            "rerun the odd ones with --force and one --face-model"
        )
    (out / "summary.json").write_text(json.dumps(totals, indent=1) + "\n")
    return totals


def merge(out: Path, shards: list[Path]) -> dict[str, Any]:
    """Copy shard output folders into ``out`` (when they are elsewhere) and finish it."""
    out.mkdir(parents=True, exist_ok=True)
    for shard in shards:
        if not (shard / ".prepare").is_dir():
            raise CmpEdgeError(f"{shard}: not a train.prepare output (no .prepare folder)")
        if shard.resolve() == out.resolve():
            continue
        for tree in _TREES:
            if (shard / tree).is_dir():
                shutil.copytree(shard / tree, out / tree, dirs_exist_ok=True)
    return finish(out)
