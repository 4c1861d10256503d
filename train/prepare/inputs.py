"""The input of train.prepare: speakers and their files, from a folder or a manifest CSV.

A folder holds one subfolder per speaker (any depth of files below it). A manifest is
a CSV file with a header row naming the columns ``speaker`` and ``path`` (relative to
the manifest's folder, or absolute), and optionally ``gender`` (m/f). For a folder,
genders come from ``INPUT/speakers.csv`` (columns ``speaker``, ``gender``) when it
exists, else from ``--gender``. Extensions are matched case-insensitively.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from cmp_edge.errors import CmpEdgeError

__all__ = [
    "AUDIO_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "SpeakerInput",
    "discover",
    "kind_of",
    "select_shard",
]

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts", ".mpg", ".mpeg"}
)
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wma", ".aif", ".aiff"}
)
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm"}
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")


@dataclass
class SpeakerInput:
    """One speaker: a name (used as the VGGFace1 ID; its first letter decides the
    train/test split), gender "m"/"f" or None, files, and a VoxCeleb-style id."""

    name: str
    gender: str | None
    files: list[Path] = field(default_factory=list)
    vox_id: str = ""


def kind_of(path: Path) -> str | None:
    """ "video", "audio", "photo", or None for other files (by extension, any case)."""
    ext = path.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    if ext in IMAGE_EXTENSIONS:
        return "photo"
    return None


def _check_name(name: str, where: str) -> str:
    if not _NAME.match(name):
        raise CmpEdgeError(
            f"{where}: speaker name {name!r} must start with a letter or digit and hold only "
            "letters, digits, '.', '_', '-' and spaces (at most 100); rename it"
        )
    return name


def _gender(value: str, where: str) -> str | None:
    g = value.strip().lower()
    if not g:
        return None
    if g not in ("m", "f"):
        raise CmpEdgeError(f"{where}: gender must be m or f, got {value!r}")
    return g


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CmpEdgeError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise CmpEdgeError(f"{path}: needs a header row with the columns {', '.join(required)}")
    return [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in rows]


def discover(
    root: Path, default_gender: str | None = None, notes: list[str] | None = None
) -> list[SpeakerInput]:
    """All speakers of a folder or manifest, sorted by name, ids ``id10001``, ... in that order.

    ``notes``, when given, receives one line per unusual but harmless finding (rows of
    ``speakers.csv`` without a speaker folder).

    Raises:
        CmpEdgeError: missing input, bad names or genders, a speaker without gender
            when no default is given, no speakers.
    """
    if root.is_file():
        speakers = _from_manifest(root)
    elif root.is_dir():
        speakers = _from_folder(root, notes if notes is not None else [])
    else:
        raise CmpEdgeError(f"{root}: no such folder or manifest file")
    if not speakers:
        raise CmpEdgeError(f"{root}: no speakers (expected one subfolder per speaker)")
    out = sorted(speakers.values(), key=lambda s: s.name)
    unknown = [s.name for s in out if s.gender is None]
    if unknown and default_gender is None:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise CmpEdgeError(
            f"{root}: no gender for {len(unknown)} speaker(s) ({shown}); add a speakers.csv "
            "(speaker,gender) or a gender column to the manifest, or pass --gender m|f"
        )
    for i, s in enumerate(out):
        s.gender = s.gender or default_gender
        s.vox_id = f"id{10001 + i}"
    return out


def _from_folder(root: Path, notes: list[str]) -> dict[str, SpeakerInput]:
    genders: dict[str, str | None] = {}
    table = root / "speakers.csv"
    if table.is_file():
        for n, row in enumerate(_read_csv(table, ("speaker", "gender")), start=2):
            genders[row["speaker"]] = _gender(row["gender"], f"{table}:{n}")
    out: dict[str, SpeakerInput] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = _check_name(sub.name, str(sub))
        files = sorted(
            p
            for p in sub.rglob("*")
            if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".json")
        )
        out[name] = SpeakerInput(name, genders.get(name), files)
    orphans = sorted(set(genders) - set(out))
    if orphans:
        shown = ", ".join(orphans[:5]) + (" ..." if len(orphans) > 5 else "")
        notes.append(f"{table}: {len(orphans)} speaker(s) without a folder ignored ({shown})")
    return out


def _from_manifest(path: Path) -> dict[str, SpeakerInput]:
    out: dict[str, SpeakerInput] = {}
    for n, row in enumerate(_read_csv(path, ("speaker", "path")), start=2):
        where = f"{path}:{n}"
        name = _check_name(row["speaker"], where)
        gender = _gender(row.get("gender", ""), where)
        sp = out.setdefault(name, SpeakerInput(name, gender))
        if gender and sp.gender and gender != sp.gender:
            raise CmpEdgeError(f"{where}: speaker {name} has two genders")
        sp.gender = sp.gender or gender
        file = Path(row["path"])
        sp.files.append(file if file.is_absolute() else path.parent / file)
    return out


def select_shard(speakers: list[SpeakerInput], shard: str | None) -> list[SpeakerInput]:
    """The speakers of shard ``"I/N"`` (0 <= I < N): every N-th speaker from the I-th,
    in name order, so any scheduler's array index selects a fixed, disjoint share."""
    if shard is None:
        return speakers
    m = re.fullmatch(r"(\d+)/(\d+)", shard.strip())
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise CmpEdgeError(f"--shard must be I/N with 0 <= I < N, got {shard!r}")
    i, n = int(m.group(1)), int(m.group(2))
    return speakers[i::n]
