"""One-time work of every stage, done when a Reconstructor is built (cold start).

A fresh process pays, on its first prediction, for work that later ones reuse:
packing the face model's basis for the fused kernel, importing webrtcvad and
resolving the native VAD loop, importing the audio decoder, building the log-mel
tables, and ONNX Runtime's first-run allocations (a resampler for rates other
than 16 kHz is still imported on first use: SciPy costs more than it saves).
:func:`warm_up` does the rest at construction, so that the first
``Reconstructor(...).predict`` costs what the hundredth does
(``benchmarks/test_cold_start.py`` measures both in fresh processes).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.signal import SAMPLE_RATE
from cmp_edge.audio.vad import StreamingVad
from cmp_edge.features.logmel import log_mel

__all__ = ["warm_up"]


class Warmable(Protocol):
    """What :func:`warm_up` needs of a Reconstructor."""

    face_model: Any

    @property
    def reconstruct_device(self) -> str: ...  # noqa: D102

    vad: bool

    @property
    def pad_to(self) -> int: ...  # noqa: D102

    def run_model(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...  # noqa: D102


def warm_up(rec: Warmable) -> None:
    """Prepare every stage of ``rec`` (results are discarded; nothing is cached per input).

    Raises:
        CmpEdgeError: the face model cannot be prepared on ``rec.reconstruct_device``.
    """
    import soundfile  # noqa: F401  (the decoder of predict_file; about 20 ms to import)
    import soxr  # noqa: F401  (the resampler of inputs at other rates)

    rec.face_model.prepare(rec.reconstruct_device)
    if rec.vad:
        StreamingVad()  # imports webrtcvad and resolves the native loop
    log_mel(np.zeros(SAMPLE_RATE // 10, np.float32), SAMPLE_RATE)  # tables and plan
    rec.run_model(np.zeros((rec.pad_to, 64), np.float32))  # ORT first-run allocations
