"""Exceptions -> HTTP answers: a status and ``{"error": "<one line>"}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from cmp_edge.errors import (
    AudioTooLongError,
    CmpEdgeError,
    NoSpeechError,
    UnreadableAudioError,
)
from cmp_edge.serve.body import ClientError
from cmp_edge.serve.work import Busy

__all__ = ["one_line", "status_of"]

log = logging.getLogger("cmp_edge.serve")


def one_line(text: object, limit: int = 500) -> str:
    """A message on one line, at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def status_of(exc: BaseException, retry_after: int = 1) -> tuple[int, str, dict[str, str]]:
    """``(status, one-line message, headers)`` for an exception raised while serving.

    ClientError: its own status; Busy and timeouts: 503 with Retry-After;
    AudioTooLongError: 413; UnreadableAudioError: 415; NoSpeechError and other CmpEdgeErrors: 422;
    anything else: 500 with the exception's type only (details go to the log).
    """
    headers: dict[str, Any] = {}
    if isinstance(exc, ClientError):
        return exc.status, one_line(exc), exc.headers
    if isinstance(exc, Busy):
        return 503, one_line(exc), {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, TimeoutError):
        message = "the request took too long (the server is overloaded); retry later"
        return 503, message, {"Retry-After": str(retry_after)}
    if isinstance(exc, AudioTooLongError):
        return 413, one_line(exc), headers
    if isinstance(exc, UnreadableAudioError):
        return 415, one_line(exc), headers
    if isinstance(exc, (NoSpeechError, CmpEdgeError)):
        return 422, one_line(exc), headers
    log.error("internal error while serving", exc_info=exc)
    return 500, f"internal error ({type(exc).__name__}); see the server log", headers
