"""Stage 2: 16 kHz samples -> normalised (T, 64) CMP features (spec section 1).

:mod:`~cmp_edge.features.logmel` (batch and streaming log-mel),
:mod:`~cmp_edge.features.normalize` (per-utterance normalisation, repeat-padding)
and :mod:`~cmp_edge.features.cmp` (the whole published feature pipeline).
"""

from cmp_edge.features.cmp import cmp_features
from cmp_edge.features.logmel import LogMelOptions, OnlineLogMel, log_mel
from cmp_edge.features.normalize import NORM_EPS, RunningFrames, normalize, repeat_pad

__all__ = [
    "NORM_EPS",
    "LogMelOptions",
    "OnlineLogMel",
    "RunningFrames",
    "cmp_features",
    "log_mel",
    "normalize",
    "repeat_pad",
]
