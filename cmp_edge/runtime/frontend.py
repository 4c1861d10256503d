"""Voiced log-mel of a whole utterance, with the VAD and the log-mel overlapped.

The published pipeline runs the VAD over the whole signal, concatenates the
voiced samples and then computes the log-mel. The VAD is sequential (one
stateful detector) and the log-mel of voiced audio can start as soon as that
audio is decided, so :func:`voiced_log_mel` cuts the signal into chunks, runs
the VAD of chunk k on a worker thread (the native loop releases the GIL) while
the calling thread computes the log-mel of the voiced samples of chunk k-1 with
the streaming frontend (:class:`~cmp_edge.features.logmel.OnlineLogMel`, whose
frames equal the batch log-mel of the concatenation for any chunking). The
result is exactly ``log_mel(remove_silence(x))``; only the order of the work
changes. With one thread (or a short signal) it runs the two stages one after
the other.
"""

from __future__ import annotations

import time
from concurrent.futures import Executor
from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.signal import SAMPLE_RATE
from cmp_edge.audio.vad import FRAME, StreamingVad, remove_silence
from cmp_edge.errors import NoSpeechError
from cmp_edge.features.logmel import OnlineLogMel, log_mel

__all__ = ["CHUNK", "VoicedLogMel", "voiced_log_mel"]

CHUNK: Final = 50 * FRAME
"""Smallest pipelined chunk (1 s at 16 kHz, a whole number of VAD frames)."""
_CHUNKS: Final = 8
"""The signal is cut into at most this many chunks (fewer thread hand-offs)."""


class VoicedLogMel:
    """What :func:`voiced_log_mel` returns.

    Attributes:
        logmel: (T, 64) float32 log-mel of the voiced samples (None when none).
        voiced_samples: number of voiced samples (a multiple of 320).
        vad_ms: wall time until the VAD had decided every frame.
        total_ms: wall time of the whole stage (VAD and log-mel).
    """

    __slots__ = ("logmel", "total_ms", "vad_ms", "voiced_samples")

    def __init__(
        self, logmel: npt.NDArray[np.float32] | None, voiced_samples: int, vad_ms: float,
        total_ms: float,
    ) -> None:  # fmt: skip
        self.logmel = logmel
        self.voiced_samples = voiced_samples
        self.vad_ms = vad_ms
        self.total_ms = total_ms


def _sequential(x: npt.NDArray[np.float32], vad: bool, t0: float) -> VoicedLogMel:
    if vad:
        try:
            voiced = remove_silence(x)
        except NoSpeechError:
            return VoicedLogMel(None, 0, (time.perf_counter() - t0) * 1e3, 0.0)
    else:
        voiced = x
    t1 = time.perf_counter()
    mel = log_mel(voiced, SAMPLE_RATE) if voiced.shape[0] else None
    t2 = time.perf_counter()
    return VoicedLogMel(mel, int(voiced.shape[0]), (t1 - t0) * 1e3, (t2 - t0) * 1e3)


def voiced_log_mel(
    x: npt.NDArray[np.float32], *, vad: bool = True, executor: Executor | None = None
) -> VoicedLogMel:
    """``log_mel(remove_silence(x))`` with the two stages overlapped on ``executor``.

    Args:
        x: (n,) float32 mono samples at 16 kHz in [-1, 1), finite.
        vad: False uses all of the audio (no VAD, nothing to overlap).
        executor: runs the VAD chunks (one at a time per call); None runs the stages
            one after the other on the calling thread.

    Returns:
        The log-mel of the voiced samples (identical to the sequential result) and
        their count; ``logmel`` is None when nothing is voiced.
    """
    t0 = time.perf_counter()
    n = x.shape[0]
    if not vad or executor is None or n < 2 * CHUNK:
        return _sequential(x, vad, t0)
    step = max(CHUNK, -(-n // (_CHUNKS * FRAME)) * FRAME)
    detector = StreamingVad()
    mel = OnlineLogMel()
    voiced = 0
    pending = executor.submit(detector.accept, x[:step])
    for start in range(step, n, step):
        blocks = pending.result()
        pending = executor.submit(detector.accept, x[start : start + step])
        for block in blocks:  # the previous chunk's voiced audio, during this chunk's VAD
            mel.accept_waveform(block)
            voiced += block.shape[0]
    blocks = pending.result()
    detector.finish()
    t_vad = time.perf_counter()
    for block in blocks:
        mel.accept_waveform(block)
        voiced += block.shape[0]
    if voiced == 0:
        return VoicedLogMel(None, 0, (t_vad - t0) * 1e3, (time.perf_counter() - t0) * 1e3)
    mel.input_finished()
    frames = mel.get_frames(mel.first_frame, mel.num_frames_ready - mel.first_frame)
    return VoicedLogMel(frames, voiced, (t_vad - t0) * 1e3, (time.perf_counter() - t0) * 1e3)
