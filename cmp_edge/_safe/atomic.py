"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from cmp_edge.errors import OutputError

__all__ = ["atomic_files", "atomic_write", "check_targets", "write_chunks"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open a binary temporary file that replaces ``path`` only if the block succeeds.

    On any exception the temporary file is removed and ``path`` is untouched,
    so a reader never sees a partial file.

    Raises:
        OutputError: the folder does not exist or is not writable, or ``path``
            exists and ``overwrite`` is False.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{target}: folder {folder} does not exist; create it first")
    if not overwrite and target.exists():
        raise OutputError(f"{target}: file exists; pass overwrite=True to replace it")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_chunks(
    path: str | os.PathLike[str], chunks: Iterable[bytes], *, overwrite: bool = True
) -> None:
    """Write ``chunks`` to ``path`` atomically (see :func:`atomic_write`).

    Raises:
        OutputError: as :func:`atomic_write`, and for any OS error while
            writing or renaming (disk full, target is a folder, ...); ``path``
            is then untouched.
    """
    try:
        with atomic_write(path, overwrite=overwrite) as handle:
            for chunk in chunks:
                handle.write(chunk)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def check_targets(
    paths: Iterable[str | os.PathLike[str]],
    *,
    overwrite: bool = True,
    twice: str = "named twice among the outputs; give each its own name",
) -> list[Path]:
    """Check that files can be written (without writing anything); return them as Paths.

    Raises:
        OutputError: two paths are the same file (message ``twice``), a folder
            is missing or not writable, a path is a folder, or a path exists
            and ``overwrite`` is False.
    """
    targets = [Path(p) for p in paths]
    seen: set[Path] = set()
    for target in targets:
        key = target.resolve()
        if key in seen:
            raise OutputError(f"{target}: {twice}")
        seen.add(key)
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise OutputError(f"{target}: folder {folder} does not exist; create it first")
        if target.is_dir():
            raise OutputError(f"{target}: is a folder; give a file name")
        if not overwrite and target.exists():
            raise OutputError(f"{target}: file exists; pass overwrite=True to replace it")
        if not os.access(folder, os.W_OK):
            raise OutputError(f"{target}: folder {folder} is not writable; choose another folder")
    return targets


@contextlib.contextmanager
def atomic_files(
    paths: Sequence[str | os.PathLike[str]], *, overwrite: bool = True
) -> Iterator[list[Path]]:
    """Write a set of files that appear together or not at all.

    Yields one temporary path per target, in the target's folder and ending in
    the target's suffix (so writers that choose the format by suffix work); the
    block writes each of them in any way. When the block succeeds, every
    temporary file is renamed onto its target. When the block or a rename
    fails, the temporary files and the targets already renamed are removed (a
    file replaced by such a target is not restored) and the exception
    propagates (file names in an :class:`OutputError` are those of the targets).

    Raises:
        OutputError: two targets are the same file, a folder is missing or not
            writable, a target is a folder, or a target exists and
            ``overwrite`` is False.
    """
    targets = check_targets(paths, overwrite=overwrite)
    temps: list[Path] = []
    renamed: list[Path] = []
    try:
        for target in targets:
            folder = target.parent if str(target.parent) else Path(".")
            try:
                fd, name = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=folder
                )
            except OSError as exc:
                raise OutputError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
            os.close(fd)
            temps.append(Path(name))
        try:
            yield list(temps)
        except OutputError as exc:
            text = str(exc)
            for tmp, target in zip(temps, targets, strict=True):
                text = text.replace(str(tmp), str(target))
            if text == str(exc):
                raise
            raise OutputError(text) from None
        for tmp, target in zip(temps, targets, strict=True):
            try:
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except OSError as exc:
                raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
            renamed.append(target)
    except BaseException:
        for path in (*temps, *renamed):
            with contextlib.suppress(OSError):
                path.unlink()
        raise
