"""What the commands accept as audio input, and reading a file in chunks.

Re-exports the one registry of readable inputs (:mod:`cmp_edge.audio.formats`)
for ``infer``, ``batch``, ``stream`` and manifests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.formats import (
    AUDIO_SUFFIXES,
    SNIFF_BYTES,
    describe_suffixes,
    is_audio_file,
    sniff,
)
from cmp_edge.audio.reader import open_audio

__all__ = [
    "AUDIO_SUFFIXES",
    "SNIFF_BYTES",
    "describe_suffixes",
    "file_chunks",
    "is_audio_file",
    "sniff",
]


@contextmanager
def file_chunks(
    path: str | os.PathLike[str], seconds: float
) -> Iterator[tuple[int, Iterator[npt.NDArray[np.float32]]]]:
    """Open a file and yield ``(sample_rate, chunks)``: (k, channels) float32 chunks of
    ``seconds`` each (the last one shorter), decoded incrementally.

    Raises:
        AudioError: as :func:`cmp_edge.audio.reader.open_audio`.
    """
    with open_audio(path) as src:
        size = max(1, int(round(src.sample_rate * seconds)))

        def chunks() -> Iterator[npt.NDArray[np.float32]]:
            pending: list[npt.NDArray[np.float32]] = []
            held = 0
            for block in src.blocks():
                pending.append(block)
                held += block.shape[0]
                while held >= size:
                    buf = np.concatenate(pending) if len(pending) > 1 else pending[0]
                    yield buf[:size]
                    rest = buf[size:]
                    pending, held = ([rest] if rest.shape[0] else []), rest.shape[0]
            if held:
                yield np.concatenate(pending) if len(pending) > 1 else pending[0]

        yield src.sample_rate, chunks()
