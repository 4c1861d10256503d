"""WS /v1/stream: chunks of any size, partial estimates, a final equal to POST, bad streams."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import resample_poly
from starlette.websockets import WebSocketDisconnect

from tests.runtime.helpers import synthetic_voice
from tests.serve.conftest import to_pcm16, wav_bytes


def _chunks(data: bytes, seed: int = 0) -> list[bytes]:
    """Random sizes, including empty and odd-length messages."""
    rng = np.random.default_rng(seed)
    out, pos = [b"", data[:1]], 1
    while pos < len(data):
        n = int(rng.integers(0, 9001))
        out.append(data[pos : pos + n])
        pos += n
    return out


def _stream(client, header: dict, chunks: list[bytes]) -> tuple[list[dict], dict]:  # noqa: ANN001
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps(header))
        for chunk in chunks:
            ws.send_bytes(chunk)
        ws.send_text(json.dumps({"type": "end"}))
        messages = []
        while True:
            msg = ws.receive_json()
            messages.append(msg)
            if msg["type"] in ("final", "error"):
                break
    return messages[:-1], messages[-1]


def _vector(params: dict) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(v, np.float64)) for v in params.values()])


@pytest.fixture(scope="module")
def long_voice() -> np.ndarray:
    return synthetic_voice(4.5, seed=7)


def test_s16le_final_equals_post(make_client, model, long_voice) -> None:  # noqa: ANN001
    client = make_client()
    pcm = to_pcm16(long_voice)
    partials, final = _stream(
        client, {"sample_rate": 16000, "format": "s16le"}, _chunks(pcm.astype("<i2").tobytes())
    )
    assert final["type"] == "final", final
    posted = client.post("/v1/reconstruct", content=wav_bytes(pcm, 16000)).json()
    np.testing.assert_allclose(_vector(final["params"]), _vector(posted["params"]), atol=1e-4)
    assert final["audio"]["duration_s"] == posted["audio"]["duration_s"]
    assert final["audio"]["peak_dbfs"] == posted["audio"]["peak_dbfs"]
    assert final["voiced_s"] == pytest.approx(posted["voiced_s"], abs=0.02)
    # provisional estimates came while the audio arrived, with growing speech
    assert len(partials) >= 2 and all(p["type"] == "partial" for p in partials)
    voiced = [p["voiced_s"] for p in partials]
    # the first provisional estimate waits for the stream's minimum of speech
    assert voiced == sorted(voiced) and voiced[0] >= model.min_speech_s
    assert set(partials[0]["params"]) == set(final["params"])


def test_f32le_stereo_48k_final_equals_post(make_client, long_voice) -> None:  # noqa: ANN001
    client = make_client()
    hi = resample_poly(long_voice, 3, 1).astype(np.float32)
    stereo = np.stack([hi, 0.8 * hi], axis=1).astype("<f4")
    header = {"sample_rate": 48000, "format": "f32le", "channels": 2}
    _, final = _stream(client, header, _chunks(stereo.tobytes(), seed=1))
    posted = client.post("/v1/reconstruct", content=wav_bytes(stereo, 48000, "FLOAT")).json()
    assert final["type"] == "final", final
    np.testing.assert_allclose(_vector(final["params"]), _vector(posted["params"]), atol=1e-4)
    assert final["audio"]["channels"] == 2 and final["audio"]["sample_rate"] == 48000


def _error(client, header, chunks, code: int, *words: str) -> dict:  # noqa: ANN001
    with client.websocket_connect("/v1/stream") as ws:
        if header is not None:
            ws.send_text(header if isinstance(header, str) else json.dumps(header))
        for chunk in chunks:
            if isinstance(chunk, str):
                ws.send_text(chunk)
            else:
                ws.send_bytes(chunk)
        msg = ws.receive_json()
        assert msg["type"] == "error", msg
        for word in words:
            assert word in msg["error"], msg
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == code
    return msg


def test_bad_streams(make_client, long_voice) -> None:  # noqa: ANN001
    client = make_client(max_duration_s=3.0)
    s16 = {"sample_rate": 16000, "format": "s16le"}
    pcm = to_pcm16(long_voice).astype("<i2").tobytes()
    # int16 bytes declared as float32: NaN / 1e38 values, rejected, never a NaN mesh
    msg = _error(client, {"sample_rate": 16000, "format": "f32le"}, [pcm], 1007, "not float")
    assert msg["status"] == 422
    _error(client, "not json", [], 1008, "JSON")
    _error(client, {"sample_rate": 16000, "format": "mp3"}, [], 1008, "format")
    _error(client, {"sample_rate": 100, "format": "s16le"}, [], 1008, "sample_rate")
    _error(client, {"sample_rate": 16000, "channels": 6}, [], 1008, "channels")
    _error(client, None, [pcm[:100]], 1008, "header")
    _error(client, s16, [pcm[:3200], '{"type": "pause"}'], 1008, "end")
    _error(client, s16, ['{"type": "end"}'], 1007, "no audio")
    _error(client, s16, [pcm, pcm], 1009, "longer than the 3 s limit")
    silence = np.zeros(32000, "<i2").tobytes()
    msg = _error(client, s16, [silence, '{"type": "end"}'], 1000, "voiced speech")
    assert msg["status"] == 422


def test_disconnect_and_stream_limit(make_client, long_voice) -> None:  # noqa: ANN001
    client = make_client(max_streams=1, idle_timeout_s=0.5)
    service = client.app.state.service
    pcm = to_pcm16(long_voice).astype("<i2").tobytes()
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"sample_rate": 16000, "format": "s16le"}))
        ws.send_bytes(pcm[:64000])
        ws.receive_json()  # a partial: the stream is working
        with client.websocket_connect("/v1/stream") as second:
            msg = second.receive_json()
            assert msg["status"] == 503 and "busy" in msg["error"]
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_json()
            assert closed.value.code == 1013
        # leaving mid-stream (no "end"): the server drops the stream
    for _ in range(200):
        if service.open_streams == 0:
            break
        import time

        time.sleep(0.01)
    assert service.open_streams == 0
    # a silent client is closed after the idle timeout
    _error(client, {"sample_rate": 16000, "format": "s16le"}, [], 1008, "no message for 0.5 s")
    assert service.open_streams == 0
