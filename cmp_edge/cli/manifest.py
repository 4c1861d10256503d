"""Inputs of ``cmp-edge batch``: a folder or a manifest (.txt, .csv, .json)."""

from __future__ import annotations

from pathlib import Path

from cmp_edge._safe.jsonsafe import loads
from cmp_edge._safe.names import printable
from cmp_edge.cli.collisions import check_collisions
from cmp_edge.errors import AudioError


def read_manifest(path: Path) -> list[Path]:
    from cmp_edge.runtime.inputs import AUDIO_SUFFIXES, SNIFF_BYTES, sniff

    base = path.parent
    try:
        with path.open("rb") as handle:
            head = handle.read(max(4096, SNIFF_BYTES))
    except OSError as exc:
        raise AudioError(
            f"{path}: cannot read the manifest ({exc.strerror}); pass a folder or a text list"
        ) from None
    if path.suffix.lower() in AUDIO_SUFFIXES or sniff(head) is not None:
        raise AudioError(
            f"{path}: is an audio file, not a folder or manifest; "
            f"for one file use `cmp-edge infer {path}`"
        )
    if b"\0" in head:
        raise AudioError(
            f"{path}: is a binary file, not a manifest; give a folder or a text list of "
            "audio paths (.txt one per line, .csv or .json)"
        )
    try:
        # undecodable bytes stay as they are (surrogateescape): they name files too
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise AudioError(
            f"{path}: cannot read the manifest ({exc}); pass a folder or a text list"
        ) from None
    entries: list[str] = []
    if path.suffix.lower() == ".json":
        fix = 'give a list of paths or of {"path": ...} objects'
        data = loads(text, str(path), "JSON manifest", AudioError, fix)
        if not isinstance(data, list):
            raise AudioError(f"{path}: JSON manifest is not a list; {fix}")
        for number, item in enumerate(data, 1):
            value = item.get("path") if isinstance(item, dict) else item
            if not isinstance(value, str) or not value.strip():
                raise AudioError(f"{path}: item {number} has no path string; {fix}")
            entries.append(value.strip())
    elif path.suffix.lower() == ".csv":
        entries = csv_paths(path, text)
    else:
        entries = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    return [p if p.is_absolute() else base / p for p in map(Path, entries)]


_HEADER_NAMES = ("path", "file", "filename", "audio", "wav", "input")


def _is_file(base: Path, name: str) -> bool:
    try:
        return (base / name).is_file()
    except (OSError, ValueError):  # a name too long for the system, NUL bytes
        return False


def is_audio_name(name: str) -> bool:
    """Whether ``name`` ends in a suffix of the readable-input registry."""
    from cmp_edge.runtime.inputs import AUDIO_SUFFIXES

    return Path(name).suffix.lower() in AUDIO_SUFFIXES


def csv_paths(path: Path, text: str) -> list[str]:
    """The audio paths of a CSV manifest: the column named path/file/audio/... in a header
    row, else the first column (a first row that names no audio file is taken as a header).

    Raises:
        AudioError: a row without that column.
    """
    import csv

    try:
        rows = [
            (number, row)
            for number, row in enumerate(csv.reader(text.splitlines()), 1)
            if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise AudioError(f"{path}: malformed CSV manifest ({exc}); fix the file") from None
    if not rows:
        return []
    head = [c.strip().lower() for c in rows[0][1]]
    col = 0
    named = [i for i, c in enumerate(head) if c in _HEADER_NAMES]
    if named:
        col, rows = named[0], rows[1:]
    elif not is_audio_name(head[0]) and not _is_file(path.parent, rows[0][1][0]):
        rows = rows[1:]  # a header row with other names
    entries = []
    for number, row in rows:
        if len(row) <= col or not row[col].strip():
            raise AudioError(
                f"{path}: row {number} has no path in column {col + 1}; fix or remove the row"
            )
        entries.append(row[col].strip())
    return entries


def batch_items(source: Path, outdir: Path, fmt: str) -> list[tuple[Path, Path]]:
    from cmp_edge.runtime.inputs import describe_suffixes, is_audio_file

    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if is_audio_file(p))
        items = [(p, outdir / p.relative_to(source).with_suffix("." + fmt)) for p in files]
    elif source.is_file():
        items = [(p, outdir / f"{p.stem}.{fmt}") for p in read_manifest(source)]
    else:
        raise AudioError(f"{source}: no such folder or manifest; check the path")
    if not items:
        raise AudioError(
            f"{printable(str(source))}: no audio files found; give a folder of audio files "
            f"({describe_suffixes(8)})"
        )
    check_collisions(items, outdir)
    return items
