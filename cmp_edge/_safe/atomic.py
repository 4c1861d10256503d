"""Atomic, durable file output: write a temporary file beside the target, then publish it.

Guarantees of :func:`atomic_write` and :func:`atomic_files`:

- a reader sees the old file or the complete new one, never a partial file;
- the data is flushed to disk (``fsync`` of the file, then of its folder after
  the rename), so it survives a crash once the call returns;
- a new file gets the permissions ``0o666`` minus the process umask, as
  ``open()`` would give it; a replaced file keeps its permission bits;
- with ``overwrite=False`` the publishing step itself refuses an existing
  target (a hard link, which fails if the name exists), so a file created by
  someone else between the check and the write is never replaced;
- :func:`atomic_files` publishes several files all or none: when one fails,
  the ones already published are removed and the files they replaced are
  restored (kept as hard links until the end).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from cmp_edge.errors import OutputError

__all__ = ["atomic_files", "atomic_write", "check_targets", "write_chunks"]

_EXISTS = "file exists; pass overwrite=True to replace it"


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: read by setting (briefly process-wide)
    os.umask(mask)
    return mask


def _mode_for(target: Path) -> int:
    """Permission bits for ``target``: those of the file it replaces, else 0o666 & ~umask."""
    with contextlib.suppress(OSError):
        st = os.stat(target)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    return 0o666 & ~_umask()


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    """fsync a file or folder by name (folders: best effort, not every system supports it)."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move ``tmp`` onto ``target``; without ``overwrite`` fail if ``target`` exists (atomically).

    Raises:
        OutputError: ``target`` exists and ``overwrite`` is False.
        OSError: the rename or link failed.
    """
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputError(f"{target}: {_EXISTS}") from None
    except OSError as exc:
        if exc.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
        ):
            raise
        # No hard links on this file system: reserve the name exclusively, then replace.
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise OutputError(f"{target}: {_EXISTS}") from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _temp_beside(target: Path, suffix: str) -> Path:
    folder = _folder(target)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open a binary temporary file that replaces ``path`` only if the block succeeds.

    On any exception the temporary file is removed and ``path`` is untouched.
    See the module docstring for durability, permissions and ``overwrite``.

    Raises:
        OutputError: the folder does not exist or is not writable, or ``path``
            exists and ``overwrite`` is False (checked first, and again atomically
            when the file is published).
    """
    target = Path(path)
    folder = _folder(target)
    if not folder.is_dir():
        raise OutputError(f"{target}: folder {folder} does not exist; create it first")
    if not overwrite and os.path.lexists(target):
        raise OutputError(f"{target}: {_EXISTS}")
    tmp = _temp_beside(target, ".tmp")
    try:
        with open(tmp, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))
        _publish(tmp, target, overwrite)
        _fsync_path(folder, directory=True)
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
        folder = _folder(target)
        if not folder.is_dir():
            raise OutputError(f"{target}: folder {folder} does not exist; create it first")
        if target.is_dir():
            raise OutputError(f"{target}: is a folder; give a file name")
        if not overwrite and os.path.lexists(target):
            raise OutputError(f"{target}: {_EXISTS}")
        if not os.access(folder, os.W_OK):
            raise OutputError(f"{target}: folder {folder} is not writable; choose another folder")
    return targets


def _keep_old(target: Path) -> Path | None:
    """Keep the file ``target`` replaces (as a hard link, else by renaming it); None if none."""
    if not os.path.isfile(target) or os.path.islink(target):
        return None
    backup = _temp_beside(target, ".old")
    try:
        os.unlink(backup)
        os.link(target, backup)
    except OSError:
        os.replace(target, backup)
    return backup


@contextlib.contextmanager
def atomic_files(
    paths: Sequence[str | os.PathLike[str]], *, overwrite: bool = True
) -> Iterator[list[Path]]:
    """Write a set of files that appear together or not at all.

    Yields one temporary path per target, in the target's folder and ending in
    the target's suffix (so writers that choose the format by suffix work); the
    block writes each of them in any way. When the block succeeds, every
    temporary file is flushed to disk and published onto its target. When the
    block or a publication fails, the temporary files and the targets already
    published are removed, the files they replaced are restored, and the
    exception propagates (file names in an :class:`OutputError` are those of
    the targets).

    Raises:
        OutputError: two targets are the same file, a folder is missing or not
            writable, a target is a folder, or a target exists and
            ``overwrite`` is False (checked first, and again atomically when
            each file is published).
    """
    targets = check_targets(paths, overwrite=overwrite)
    temps: list[Path] = []
    published: list[tuple[Path, Path | None]] = []
    try:
        for target in targets:
            temps.append(_temp_beside(target, f".tmp{target.suffix}"))
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
                _fsync_path(tmp)
                os.chmod(tmp, _mode_for(target))
                backup = _keep_old(target) if overwrite else None
                try:
                    _publish(tmp, target, overwrite)
                except BaseException:
                    if backup is not None:
                        os.replace(backup, target)
                    raise
                published.append((target, backup))
            except OSError as exc:
                raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
        for folder in {_folder(t) for t in targets}:
            _fsync_path(folder, directory=True)
        for _, backup in published:
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink()
    except BaseException:
        for target, backup in reversed(published):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink()
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
