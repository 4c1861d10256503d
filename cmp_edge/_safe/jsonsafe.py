"""JSON from files: nesting bounded before parsing, types checked after.

``json.loads`` recurses once per nesting level, so a short file of ``[[[[...``
raises RecursionError (and printing such a value again later does too). The
depth is measured first, without recursion, against
:attr:`~cmp_edge._safe.limits.Limits.max_json_depth`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from cmp_edge._safe.limits import get_limits
from cmp_edge.errors import CmpEdgeError

__all__ = ["json_depth", "loads", "require_int", "require_number"]

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """Greatest nesting depth of arrays/objects in JSON ``text`` (0 for a scalar)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(text: str | bytes, where: str, what: str, error: type[CmpEdgeError], fix: str) -> Any:
    """Parse JSON read from a file.

    Raises:
        error: not valid JSON, non-standard numbers (NaN, Infinity), or nested
            deeper than the limit; message ``"{where}: {what} ...; {fix}"``.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise error(f"{where}: {what} is not UTF-8 text; {fix}") from None
    limit = get_limits().max_json_depth
    if json_depth(text) > limit:
        raise error(f"{where}: {what} is nested more than {limit} levels deep; {fix}")

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=constant)
    except (ValueError, RecursionError):
        raise error(f"{where}: {what} is not valid JSON; {fix}") from None


def require_int(value: Any, where: str, what: str, error: type[CmpEdgeError], fix: str) -> int:
    """``value`` if it is an integer (booleans are not); else raise ``error``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{where}: {what} must be an integer, got {value!r:.60}; {fix}")
    return value


def require_number(value: Any, where: str, what: str, error: type[CmpEdgeError], fix: str) -> float:
    """``value`` as a float if it is a finite number (booleans are not); else raise ``error``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{where}: {what} must be a number, got {value!r:.60}; {fix}")
    out = float(value)
    if not math.isfinite(out):
        raise error(f"{where}: {what} must be finite, got {value!r}; {fix}")
    return out
