"""Many files at once: a bounded thread pool that yields results as they finish."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from cmp_edge import _native
from cmp_edge._safe.names import printable
from cmp_edge.errors import CmpEdgeError
from cmp_edge.runtime.face import Face

__all__ = ["iter_files", "worker_count"]


def worker_count(workers: int | None, items: int) -> int:
    """Concurrent files: ``workers`` (None: the cores), at most the cores and the files.

    Raises:
        CmpEdgeError: ``workers`` is not a positive integer.
    """
    cores = _native.available_cores()
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise CmpEdgeError(f"workers must be a positive integer, got {workers!r:.40}")
    return max(1, min(workers or cores, cores, max(1, items)))


def _unexpected(path: Path, exc: Exception) -> CmpEdgeError:
    name = printable(str(path))
    if isinstance(exc, MemoryError):
        return CmpEdgeError(f"{name}: ran out of memory; process it alone or with fewer --workers")
    if isinstance(exc, OSError):
        return CmpEdgeError(f"{name}: {exc.strerror or exc}; check the file and its folder")
    detail = printable(" ".join(str(exc).split()))[:200]
    return CmpEdgeError(
        f"{name}: internal error ({type(exc).__name__}: {detail}); please report it with the file"
    )


def iter_files(
    predict_file: Callable[[Path], Face],
    paths: Iterable[str | os.PathLike[str]],
    workers: int | None = None,
    *,
    handle: Callable[[Face], Any] | None = None,
) -> Iterator[tuple[int, Path, Face | CmpEdgeError]]:
    """Run ``predict_file`` on many files with a thread pool, yielding results as they finish.

    Args:
        predict_file: one file -> :class:`Face` (raises :class:`CmpEdgeError` for bad input).
        paths: audio files.
        workers: concurrent files (None: the number of cores; at most the cores).
        handle: called in the worker with each finished face (e.g. to save it);
            a :class:`CmpEdgeError` it raises is reported as that file's error.

    Yields:
        ``(index, path, Face or the CmpEdgeError raised for it)`` in completion order;
        any other exception a file causes is turned into a :class:`CmpEdgeError` for
        that file (the batch goes on).
        Closing the iterator (or Ctrl-C) cancels files not yet started.
    """
    items = [Path(p) for p in paths]
    n_workers = worker_count(workers, len(items))

    def one(path: Path) -> Face:
        face = predict_file(path)
        if handle is not None:
            handle(face)
        return face

    pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="cmp-edge")
    pending: dict[Future[Face], int] = {}
    next_index = 0
    try:
        while next_index < len(items) or pending:
            while next_index < len(items) and len(pending) < 2 * n_workers:
                pending[pool.submit(one, items[next_index])] = next_index
                next_index += 1
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                index = pending.pop(fut)
                try:
                    result: Face | CmpEdgeError = fut.result()
                except CmpEdgeError as exc:
                    result = exc
                except Exception as exc:  # one bad file is one failed row, never the end
                    result = _unexpected(items[index], exc)
                yield index, items[index], result
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
