"""Fixtures of the service tests: one shared model, apps with given limits, test audio."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.runtime.helpers import synthetic_voice


@pytest.fixture(scope="session")
def model():  # noqa: ANN201
    from cmp_edge.runtime.reconstructor import Reconstructor

    return Reconstructor(threads=1)


@pytest.fixture()
def make_client(model) -> Callable[..., Any]:  # noqa: ANN001
    """``make_client(**limits)``: a TestClient of an API-only app with those limits."""
    from fastapi.testclient import TestClient

    from cmp_edge.serve.app import create_app
    from cmp_edge.serve.limits import Limits

    clients = []

    def make(**limits: Any) -> Any:
        client = TestClient(create_app(model, Limits(**limits), page=False))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def voice() -> np.ndarray:
    """3 s of synthetic voiced speech, 16 kHz float32."""
    return synthetic_voice(3.0, seed=4)


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """float in [-1, 1) -> int16, as cmp-edge scales (x * 32768, rounded, clipped)."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    """A WAV file in memory; float samples become PCM_16 as ``round(x * 32768)`` (clipped)."""
    import soundfile as sf

    if subtype == "PCM_16" and samples.dtype != np.int16:
        samples = to_pcm16(samples)
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def encode_with_pyav(samples: np.ndarray, rate: int, container: str, codec: str) -> bytes:
    """Mono float32 -> a compressed file in memory (as browsers record: WebM/Opus, MP4/AAC)."""
    import av

    buf = io.BytesIO()
    options = {"movflags": "frag_keyframe+empty_moov"} if container == "mp4" else {}
    with av.open(buf, mode="w", format=container, options=options) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        fmt = stream.codec_context.codec.audio_formats[0].name
        step = 960
        pcm = samples.astype(np.float32)
        for start in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(pcm[None, start : start + step], "fltp", "mono")
            frame.sample_rate = rate
            frame = frame if fmt == "fltp" else av.AudioResampler(format=fmt).resample(frame)[0]
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
