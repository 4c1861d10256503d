"""Bounded work off the event loop: a thread pool, a queue bound, and 503 beyond it."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Busy", "WorkPool"]

T = TypeVar("T")


class Busy(Exception):
    """The server has no room for more work now; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WorkPool:
    """Run CPU-bound calls in ``workers`` threads with at most ``queue`` more waiting.

    A slot is held from admission until the call has *finished* in its thread
    (not merely until the caller stopped waiting), so timed-out or abandoned
    calls still count and the bound on concurrent work holds.

    Use from one event loop (admission is not locked).
    """

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = int(workers)
        self.capacity = int(workers) + int(queue)
        self.in_flight = 0
        self.completed = 0
        self.rejected = 0
        self._mean_s = 0.5  # running mean of a call's seconds, for Retry-After
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="cmp-edge-serve")

    def retry_after(self) -> int:
        """Seconds after which a rejected client should retry (at least 1)."""
        waves = max(1, math.ceil(self.in_flight / max(1, self.workers)))
        return max(1, math.ceil(waves * self._mean_s))

    def _timed(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self._mean_s = 0.8 * self._mean_s + 0.2 * (time.perf_counter() - t0)

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` in the pool and await its result.

        Raises:
            Busy: no slot is free (answered 503 with Retry-After).
            TimeoutError: the call did not finish within ``timeout`` seconds
                (it still runs to its end in its thread and holds its slot).
            Whatever ``fn`` raises.
        """
        if self.in_flight >= self.capacity:
            self.rejected += 1
            raise Busy(
                f"the server is busy ({self.in_flight} requests in progress); retry later",
                self.retry_after(),
            )
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        fut: Future[T] = self._executor.submit(self._timed, fn, args)

        def release(_: Future[T]) -> None:
            loop.call_soon_threadsafe(self._release)

        fut.add_done_callback(release)
        return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)

    def _release(self) -> None:
        self.in_flight -= 1
        self.completed += 1

    async def run_unbounded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the pool's threads without admission (stream steps whose
        connection was admitted already)."""
        return await asyncio.wrap_future(self._executor.submit(fn, *args))

    def shutdown(self) -> None:
        """Stop accepting calls; running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
