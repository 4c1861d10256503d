"""Inputs of ``cmp-edge batch``: a folder or a manifest (.txt, .csv, .json)."""

from __future__ import annotations

from pathlib import Path

from cmp_edge._safe.names import printable
from cmp_edge.errors import AudioError, OutputError


def read_manifest(path: Path) -> list[Path]:
    import csv
    import json

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
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise AudioError(f"{path}: manifest is not valid JSON; give a list of paths") from None
        if not isinstance(data, list):
            raise AudioError(f"{path}: JSON manifest must be a list of paths or {{'path': ...}}")
        for item in data:
            if isinstance(item, dict) and "path" not in item:
                raise AudioError(f"{path}: a JSON manifest entry has no 'path': {item!r}")
            entries.append(str(item["path"] if isinstance(item, dict) else item))
    elif path.suffix.lower() == ".csv":
        rows = list(csv.reader(text.splitlines()))
        col = 0
        if rows and "path" in [c.strip().lower() for c in rows[0]]:
            col = [c.strip().lower() for c in rows[0]].index("path")
            rows = rows[1:]
        entries = [r[col].strip() for r in rows if r and r[col].strip()]
    else:
        entries = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    return [p if p.is_absolute() else base / p for p in map(Path, entries)]


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
    seen: dict[Path, Path] = {}
    for inp, out in items:
        if out in seen:
            raise OutputError(
                f"{inp}: writes the same output as {seen[out]}; "
                "use a folder source to keep names apart"
            )
        seen[out] = inp
    return items
