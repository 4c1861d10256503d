"""Refuse batch outputs that would overwrite each other or the batch summary."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cmp_edge.errors import OutputError

__all__ = ["SUMMARY_NAMES", "check_collisions"]

SUMMARY_NAMES = ("summary.csv", "summary.json")
"""Files ``cmp-edge batch`` writes in its output folder besides the outputs."""


def _key(path: Path) -> str:
    # Case-folded: on macOS and Windows "A.ply" and "a.ply" are the same file.
    return os.path.normcase(os.path.abspath(path)).casefold()


def check_collisions(items: Sequence[tuple[Path, Path]], outdir: Path) -> None:
    """Raise before anything is written if two outputs, or an output and a summary, collide.

    Args:
        items: (input, output) pairs.
        outdir: the batch output folder (holding ``summary.csv`` and ``summary.json``).

    Raises:
        OutputError: naming both inputs (or the input and the summary file).
    """
    reserved = {_key(outdir / name): name for name in SUMMARY_NAMES}
    seen: dict[str, Path] = {}
    for inp, out in items:
        key = _key(out)
        if key in reserved:
            raise OutputError(
                f"{inp}: its output {out.name} would replace the batch's {reserved[key]}; "
                "rename the input or choose another --format"
            )
        if key in seen:
            raise OutputError(
                f"{inp}: writes the same output {out} as {seen[key]}; rename one of them "
                "(or use a folder source, whose sub-folders keep names apart)"
            )
        seen[key] = inp
