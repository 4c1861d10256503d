"""Stage 1: a file, bytes or an array -> 16 kHz mono float32, and the WebRTC VAD.

``load`` / ``load_bytes`` / ``open_audio`` decode (soundfile or PyAV), ``resample``
converts rates (libsoxr), ``as_mono_float32`` / ``as_frames`` check arrays;
:mod:`cmp_edge.audio.formats` is the registry of readable inputs,
:mod:`cmp_edge.audio.channels` the downmix policy, :mod:`cmp_edge.audio.quality`
the input-quality report, and :mod:`cmp_edge.audio.vad` the one published VAD loop.
"""

from cmp_edge.audio.decode import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, load, resample
from cmp_edge.audio.formats import AUDIO_SUFFIXES, is_audio_file, sniff
from cmp_edge.audio.quality import InputQuality
from cmp_edge.audio.reader import AudioSource, load_bytes, open_audio
from cmp_edge.audio.signal import INT16_SCALE, SAMPLE_RATE, as_frames, as_mono_float32, to_int16

__all__ = [
    "AUDIO_SUFFIXES",
    "INT16_SCALE",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SAMPLE_RATE",
    "AudioSource",
    "InputQuality",
    "as_frames",
    "as_mono_float32",
    "is_audio_file",
    "load",
    "load_bytes",
    "open_audio",
    "resample",
    "sniff",
    "to_int16",
]
