"""The published VAD loop run natively on webrtcvad's own detector instance.

:class:`cmp_edge.audio.vad.StreamingVad` spends most of its time in Python, not
in the detector: per frame it slices the signal, makes a ``bytes`` object and
goes through ``webrtcvad.Vad.is_speech`` twice (the ring holds two frames and
the published loop asks about both at every step). :func:`native_loop` returns
the same loop compiled (``cmp_edge._C.VadLoop``): it calls the same function of
the same library (``WebRtcVad_Process`` in the loaded ``_webrtcvad`` module) on
the same instance, in the same order, with the same int16 frames, so its
decisions are the published ones bit for bit; ``tests/frontend/test_vad_native.py``
checks that against the Python loop and the independent reference.

It is used when the extension and the symbol are there; otherwise
:func:`native_loop` returns None and the Python loop runs.
"""

from __future__ import annotations

import os
from typing import Any

from cmp_edge import _native

__all__ = ["disabled", "native_loop"]

_ENV = "CMP_EDGE_VAD_NATIVE"


def disabled() -> bool:
    """True when ``CMP_EDGE_VAD_NATIVE=0`` asks for the Python loop (for comparisons)."""
    return os.environ.get(_ENV, "1").strip() == "0"


def native_loop(vad: Any) -> Any | None:
    """A ``cmp_edge._C.VadLoop`` driving ``vad`` (a ``webrtcvad.Vad``), or None.

    None when the extension is missing or older than this module, when this
    webrtcvad build does not export ``WebRtcVad_Process``, or when disabled by
    ``CMP_EDGE_VAD_NATIVE=0``. Never raises.
    """
    if disabled():
        return None
    try:
        import _webrtcvad

        return _native.ext().VadLoop(vad._vad, str(_webrtcvad.__file__))
    except Exception:  # no extension, another webrtcvad layout, a hidden symbol, a stand-in
        return None
