"""Stage 1: a file or an array -> 16 kHz mono float32, and the WebRTC VAD.

``load`` decodes a file, ``resample`` converts rates, ``as_mono_float32`` checks
arrays; :mod:`cmp_edge.audio.vad` holds the one published VAD loop.
"""

from cmp_edge.audio.decode import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, load, resample
from cmp_edge.audio.signal import INT16_SCALE, SAMPLE_RATE, as_mono_float32, to_int16

__all__ = [
    "INT16_SCALE",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SAMPLE_RATE",
    "as_mono_float32",
    "load",
    "resample",
    "to_int16",
]
