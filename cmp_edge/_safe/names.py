"""File names as text that can always be printed, logged and written to JSON or CSV.

POSIX file names are bytes; Python decodes undecodable bytes to lone surrogates
(``surrogateescape``), which cannot be encoded as UTF-8 and make ``print`` raise.
:func:`printable` shows such bytes as ``\\xNN`` escapes and leaves all other text
(spaces, other scripts) as it is.
"""

from __future__ import annotations

__all__ = ["printable"]


def printable(text: str) -> str:
    """``text`` with undecodable file-name bytes shown as ``\\xNN`` (UTF-8 safe).

    Args:
        text: any string, e.g. ``str(path)`` of a name holding Latin-1 bytes.

    Returns:
        A string that encodes to UTF-8 without error; equal to ``text`` when it
        already does.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
