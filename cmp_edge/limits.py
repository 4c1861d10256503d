"""Limits on what files may make cmp-edge allocate (see :mod:`cmp_edge._safe.limits`).

>>> from cmp_edge.limits import limits
>>> with limits(max_audio_seconds=3600.0, max_elements=1 << 28):
...     pass  # load a long recording or a very large face model here
"""

from __future__ import annotations

from cmp_edge._safe.limits import Limits, get_limits, limits, set_limits

__all__ = ["Limits", "get_limits", "limits", "set_limits"]
