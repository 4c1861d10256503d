"""Generated recordings for the field tests: containers through PyAV, headers by hand."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np


def encode(
    samples: np.ndarray, rate: int, fmt: str, codec: str, out_rate: int | None = None
) -> bytes:
    """Encode mono float32 samples with FFmpeg (PyAV) into an in-memory file."""
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=out_rate or rate)
        stream.layout = "mono"
        frame_len = 960
        pcm = np.asarray(samples, np.float32)
        for i in range(0, pcm.shape[0], frame_len):
            chunk = pcm[i : i + frame_len][None, :]
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(chunk), format="flt", layout="mono"
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def pipe_wav(pcm16: np.ndarray, rate: int, riff_size: int, data_size: int) -> bytes:
    """A mono PCM16 WAV whose RIFF and data sizes are the given (placeholder) values."""
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, 2 * rate, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVE"
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
        + np.asarray(pcm16, "<i2").tobytes()
    )


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
