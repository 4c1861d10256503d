"""The error contract at loader boundaries: what a bad file causes becomes a CmpEdgeError.

A loader parses and validates a file inside :func:`boundary`; any exception a
malformed file can provoke in the parsing libraries (ValueError, IndexError,
KeyError, TypeError, struct/zlib/zip/pickle errors, RecursionError from deep
nesting, MemoryError from a size that slipped past the limits, OS errors) is
re-raised as one line of the loader's domain error, naming the file.
:class:`~cmp_edge.errors.CmpEdgeError` passes through unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from cmp_edge.errors import CmpEdgeError

__all__ = ["USER_ERRORS", "boundary", "guarded", "reason"]

USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    ArithmeticError,
    LookupError,
    TypeError,
    AttributeError,
    EOFError,
    OSError,
    RecursionError,
    MemoryError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    pickle.UnpicklingError,
    NotImplementedError,
    SyntaxError,  # numpy parses .npy headers with ast / tokenize
    tokenize.TokenError,
)
"""Exceptions a hostile or damaged file can cause inside a parser."""

F = TypeVar("F", bound=Callable[..., Any])


def reason(exc: BaseException, limit: int = 120) -> str:
    """A short one-line description of ``exc`` for a message."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, MemoryError):
        return "declares more data than fits in memory"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


@contextlib.contextmanager
def boundary(
    error: type[CmpEdgeError], where: str | os.PathLike[str], what: str, fix: str = ""
) -> Iterator[None]:
    """Map user-caused exceptions raised in the block to ``error``.

    Args:
        error: the domain error (e.g. FaceModelError).
        where: the file, first in the message.
        what: what was being read, e.g. "face model .npz".
        fix: what the user can do, appended after "; " when given.

    Raises:
        error: ``"{where}: cannot read {what} ({reason}); {fix}"`` for any of
            :data:`USER_ERRORS`; a CmpEdgeError raised in the block unchanged.
    """
    try:
        yield
    except CmpEdgeError:
        raise
    except USER_ERRORS as exc:
        tail = f"; {fix}" if fix else ""
        raise error(f"{os.fspath(where)}: cannot read {what} ({reason(exc)}){tail}") from None


def guarded(error: type[CmpEdgeError], what: str, fix: str = "") -> Callable[[F], F]:
    """Decorator: run a loader whose first argument is the file inside :func:`boundary`."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(path: Any, *args: Any, **kwargs: Any) -> Any:
            with boundary(error, path, what, fix):
                return func(path, *args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap
