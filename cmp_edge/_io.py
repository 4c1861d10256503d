"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cmp_edge.errors import OutputError

__all__ = ["atomic_write", "write_chunks"]


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
        raise OutputError(f"{target}: file exists; pass --force (overwrite=True) to replace it")
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
