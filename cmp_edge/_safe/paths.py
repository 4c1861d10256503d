"""File names read from files: a bare name inside a given folder, never a path."""

from __future__ import annotations

from pathlib import Path

from cmp_edge.errors import CmpEdgeError

__all__ = ["bare_name_in"]


def bare_name_in(
    folder: Path,
    name: object,
    suffix: str,
    where: str,
    what: str,
    error: type[CmpEdgeError],
    fix: str,
) -> Path:
    """``folder / name`` after proving ``name`` is a plain file name ending in ``suffix``.

    Refused: anything but a non-empty string, absolute paths, separators (``/`` or
    ``\\``), ``.``/``..``, NUL and control characters, names longer than 255
    characters, another suffix, and a name that resolves outside ``folder``
    (a symbolic link pointing elsewhere).

    Raises:
        error: ``"{where}: {what} {name!r} ...; {fix}"``.
    """
    if not isinstance(name, str):
        raise error(f"{where}: {what} must be a file name, got {name!r:.60}; {fix}")
    bad = (
        not name
        or len(name) > 255
        or name in (".", "..")
        or any(c in name for c in "/\\")
        or any(ord(c) < 32 for c in name)
        or Path(name).name != name
    )
    if bad:
        raise error(
            f"{where}: {what} {name!r:.80} is not a plain file name in the model's folder; {fix}"
        )
    if not name.lower().endswith(suffix):
        raise error(f"{where}: {what} {name!r:.80} is not a {suffix} file; {fix}")
    target = folder / name
    if target.resolve().parent != folder.resolve():
        raise error(f"{where}: {what} {name!r:.80} links outside the model's folder; {fix}")
    return target
