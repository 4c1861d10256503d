"""Process-parallel map shared by the corpus generator and the face pool."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

__all__ = ["process_map"]

T = TypeVar("T")
R = TypeVar("R")


def process_map(fn: Callable[[T], R], jobs: Sequence[T], workers: int) -> Iterable[R]:
    """``map(fn, jobs)`` in order, over ``workers`` processes (in this process if 1).

    Uses ``fork`` where the platform has it (the workers inherit loaded modules and
    the face-model cache), else ``spawn``; ``fn`` must be a module-level function.
    """
    workers = max(1, min(int(workers), len(jobs)))
    if workers == 1:
        yield from map(fn, jobs)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(fn, jobs, chunksize=1)
