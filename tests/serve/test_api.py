"""The HTTP API through an ASGI test client, against the runtime called directly."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import trimesh
from scipy.signal import resample_poly

from tests.serve.conftest import encode_with_pyav, to_pcm16, wav_bytes


def _assert_error(response, status: int, *words: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    message = body["error"]
    assert "\n" not in message and "Traceback" not in message and len(message) <= 500
    for word in words:
        assert word in message, message


def test_health_and_model(make_client, model) -> None:  # noqa: ANN001
    client = make_client()
    assert client.get("/v1/health").json() == {"status": "ok"}
    info = client.get("/v1/model").json()
    assert info["path"] == model.model_path.name  # no server folders
    assert info["param_layout"] == model.info.param_layout
    assert info["face_model_id"] == model.face_model_id
    assert info["num_vertices"] == model.face_model.mean.shape[0] and info["units"] == "mm"
    schema = client.get("/openapi.json").json()
    assert "/v1/reconstruct" in schema["paths"] and "/v1/health" in schema["paths"]
    # the OpenAPI page loads Swagger UI from this server, not from a CDN (works offline)
    docs = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000


def test_json_equals_runtime(make_client, model, voice) -> None:  # noqa: ANN001
    client = make_client()
    data = wav_bytes(voice, 16000)
    body = client.post("/v1/reconstruct", content=data).json()
    pcm16 = to_pcm16(voice)
    expected = model.predict(pcm16, 16000)
    np.testing.assert_allclose(body["params"]["shape"], expected.params["shape"], atol=1e-6)
    assert body["params"]["scale"] == pytest.approx(expected.scale, abs=1e-6)
    np.testing.assert_allclose(body["whitened"], expected.whitened, atol=1e-6)
    assert body["model"] == model.model_path.name
    for stage in ("decode", "vad", "features", "model", "reconstruct", "total"):
        assert body["timings"][stage] >= 0
    audio = body["audio"]
    assert audio["sample_rate"] == 16000 and audio["channels"] == 1
    assert audio["duration_s"] == pytest.approx(3.0)
    assert 0.5 < body["voiced_s"] <= 3.0 and body["duration_s"] == pytest.approx(3.0)
    assert audio["voiced_fraction"] == pytest.approx(body["voiced_s"] / 3.0, abs=1e-3)
    assert audio["bandwidth_hz"] > 5500 and audio["issues"] == []
    peak = 20 * np.log10(np.abs(pcm16).max() / 32768)
    assert audio["peak_dbfs"] == pytest.approx(peak, abs=0.01)
    # multipart with a wrong Content-Type on the part, and a wrong Content-Type on a raw body
    files = {"audio": ("x.txt", data, "text/plain")}
    multipart = client.post("/v1/reconstruct", files=files, data={"note": "hi"}).json()
    raw_plain = client.post(
        "/v1/reconstruct", content=data, headers={"content-type": "text/plain"}
    ).json()
    for other in (multipart, raw_plain):
        assert other["params"] == body["params"]


@pytest.mark.parametrize("fmt", ["glb", "ply", "obj"])
def test_mesh_formats_load_in_trimesh(make_client, model, voice, fmt: str) -> None:  # noqa: ANN001
    client = make_client()
    response = client.post(f"/v1/reconstruct?format={fmt}", content=wav_bytes(voice, 16000))
    assert response.status_code == 200
    assert f'filename="face.{fmt}"' in response.headers["content-disposition"]
    pcm16 = to_pcm16(voice)
    expected = model.predict(pcm16, 16000)
    loaded = trimesh.load(io.BytesIO(response.content), file_type=fmt, process=False)
    if fmt == "glb":
        assert response.content[:4] == b"glTF"
        assert response.headers["content-type"] == "model/gltf-binary"
        (loaded,) = loaded.geometry.values()
        vertices = loaded.vertices * 1000.0  # glTF is in metres
    else:
        vertices = loaded.vertices
    np.testing.assert_allclose(vertices, expected.vertices, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(loaded.faces, expected.triangles)


def test_browser_formats_and_rates(make_client, model, voice) -> None:  # noqa: ANN001
    """WebM/Opus (Chrome, Firefox), MP4/AAC (Safari), 48 kHz stereo WAV."""
    client = make_client()
    hi = resample_poly(voice, 3, 1).astype(np.float32)  # 48 kHz
    stereo = np.stack([hi, 0.5 * hi], axis=1)
    ref = model.predict(hi, 48000).params_vector()
    cases = {
        "opus": encode_with_pyav(hi, 48000, "webm", "libopus"),
        "aac": encode_with_pyav(hi, 48000, "mp4", "aac"),
        "pcm_16": wav_bytes(stereo, 48000),
    }
    for codec, data in cases.items():
        body = client.post("/v1/reconstruct", content=data).json()
        assert body["audio"]["sample_rate"] == 48000, body
        assert body["audio"]["channels"] == (2 if codec == "pcm_16" else 1)
        got = np.concatenate([np.atleast_1d(v) for v in body["params"].values()])
        # lossy codecs change the samples a little: the estimate stays close to the original's
        assert np.abs(got - ref).max() < (0.05 if codec == "pcm_16" else 0.5) * np.abs(ref).max()


def test_field_recordings(make_client, shared_data) -> None:  # noqa: ANN001
    """A real browser's MediaRecorder WebM (no duration in its header) and antiphase stereo."""
    client = make_client()
    field = shared_data / "field"
    webm = client.post(
        "/v1/reconstruct", content=(field / "browser_mediarecorder.webm").read_bytes()
    )
    assert webm.status_code == 200 and webm.json()["audio"]["sample_rate"] == 48000
    ref = client.post("/v1/reconstruct", content=(field / "reference_16k_pcm16.wav").read_bytes())
    stereo = client.post("/v1/reconstruct", content=(field / "stereo_antiphase.wav").read_bytes())
    assert stereo.status_code == 200
    # the channels cancel when averaged: the audio stage used one channel alone
    audio = stereo.json()["audio"]
    assert audio["channel_used"] != "mix" and audio["mix_cancellation_db"] >= 20, audio
    assert stereo.json()["params"] == ref.json()["params"]


def test_bad_inputs_are_4xx_json(make_client, voice) -> None:  # noqa: ANN001
    client = make_client(max_upload_bytes=400_000, max_duration_s=5.0)
    post = client.post
    _assert_error(post("/v1/reconstruct", content=b""), 422, "0 bytes")
    _assert_error(post("/v1/reconstruct", content=b"not audio at all" * 10), 415, "readable")
    silence = wav_bytes(np.zeros(32000, np.float32), 16000)
    _assert_error(post("/v1/reconstruct", content=silence), 422, "voiced speech")
    long_voice = wav_bytes(np.tile(voice, 3), 16000)  # 9 s > 5 s
    _assert_error(post("/v1/reconstruct", content=long_voice), 413, "longer than the 5 s limit")
    huge = wav_bytes(np.tile(voice, 5), 16000, "FLOAT")  # 960 kB > 400 kB
    _assert_error(post("/v1/reconstruct", content=huge), 413, "limit")
    # int16 samples read as float32 give NaN and values up to 1e38: never a mesh
    pcm = np.round(voice * 32768).astype("<i2").tobytes()
    as_float = np.frombuffer(pcm[: len(pcm) // 4 * 4], "<f4")
    nan_wav = wav_bytes(np.nan_to_num(as_float, nan=np.nan), 16000, "FLOAT")
    _assert_error(post("/v1/reconstruct", content=nan_wav), 422, "NaN")
    loud = wav_bytes(voice * np.float32(1e30), 16000, "FLOAT")
    _assert_error(post("/v1/reconstruct", content=loud), 422, "not float audio")
    _assert_error(post("/v1/reconstruct", files={"file": ("a.wav", b"x")}), 400, "'audio'")
    fake = b'--xyz\r\nContent-Disposition: form-data; name="audio"\r\n\r\nabc\r\n--xyz--\r\n'
    _assert_error(post("/v1/reconstruct", content=fake), 400, "multipart")
    broken = b"--xyz\r\nContent-Disposition: form-data; name=audio"
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    _assert_error(post("/v1/reconstruct", content=broken, headers=headers), 400)
    _assert_error(post("/v1/reconstruct?format=stl", content=silence), 422, "format")
    _assert_error(client.get("/v1/nothing"), 404)
    _assert_error(client.get("/v1/reconstruct"), 405)


def test_internal_error_is_one_line(make_client, voice, monkeypatch) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    client = TestClient(make_client().app, raise_server_exceptions=False)
    service = client.app.state.service

    def broken(data: bytes, what: str) -> None:
        raise RuntimeError("secret detail\nwith a second line")

    monkeypatch.setattr(service, "reconstruct", broken)
    response = client.post("/v1/reconstruct", content=wav_bytes(voice, 16000))
    _assert_error(response, 500, "internal error (RuntimeError)")
    assert "secret" not in response.text


def test_json_body_is_plain_json(make_client, voice) -> None:  # noqa: ANN001
    """No NaN or Infinity tokens (strict JSON parsers reject them), even for silence levels."""
    client = make_client()
    quiet = np.concatenate([voice, np.zeros(16000, np.float32)])
    text = client.post("/v1/reconstruct", content=wav_bytes(quiet, 16000)).text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
