"""Uploads through the audio stage (the service's decoder) and the WebSocket's PCM checks."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from cmp_edge.audio.reader import open_audio, read_all
from cmp_edge.errors import AudioError, AudioTooLongError, UnreadableAudioError
from cmp_edge.serve.http_errors import status_of
from cmp_edge.serve.ws import check_samples
from tests.runtime.helpers import synthetic_voice
from tests.serve.conftest import encode_with_pyav


def _decode(data: bytes, max_seconds: float | None = None) -> tuple[np.ndarray, int, str]:
    with open_audio(data, name="upload", max_seconds=max_seconds) as src:
        return read_all(src), src.sample_rate, src.codec


def test_uploads_match_soundfile_and_limits() -> None:
    voice = synthetic_voice(2.0)
    for fmt, subtype in (("WAV", "PCM_24"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")):
        buf = io.BytesIO()
        sf.write(buf, voice, 16000, format=fmt, subtype=subtype)
        data = buf.getvalue()
        frames, rate, _ = _decode(data)
        expected, expected_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        assert rate == expected_rate == 16000 and frames.shape[1] == 1
        np.testing.assert_array_equal(frames, expected)
        with pytest.raises(AudioTooLongError, match="longer than the 1 s limit") as long:
            _decode(data, max_seconds=1.0)
        assert status_of(long.value)[0] == 413
    with pytest.raises(AudioError, match="0 bytes"):
        _decode(b"")
    with pytest.raises(UnreadableAudioError) as junk:
        _decode(b"\x00" * 1000)
    assert status_of(junk.value)[0] == 415


def test_browser_recordings() -> None:
    from scipy.signal import resample_poly

    voice = resample_poly(synthetic_voice(3.0), 3, 1).astype(np.float32)
    webm = encode_with_pyav(voice, 48000, "webm", "libopus")
    frames, rate, codec = _decode(webm)
    assert codec == "opus" and rate == 48000
    assert frames.shape[0] / rate == pytest.approx(3.0, abs=0.03)
    # a recording cut short (tab closed mid-upload) keeps what was decoded
    cut, _, _ = _decode(webm[: len(webm) * 2 // 3])
    assert 1.0 < cut.shape[0] / rate < 2.9
    with pytest.raises(AudioTooLongError):
        _decode(webm, max_seconds=2.0)
    mp4, rate, codec = _decode(encode_with_pyav(voice, 48000, "mp4", "aac"))
    assert codec == "aac" and mp4.shape[0] / rate == pytest.approx(3.0, abs=0.05)


def test_float_garbage_is_refused() -> None:
    x = np.array([0.5, 1.5, -2.0], np.float32)
    np.testing.assert_array_equal(check_samples(x, "x", 8.0), [0.5, 1.0, -1.0])
    with pytest.raises(AudioError, match="NaN"):
        check_samples(np.array([0.1, np.nan], np.float32), "x", 8.0)
    with pytest.raises(AudioError, match="1e\\+38"):
        check_samples(np.array([0.1, 1e38], np.float32), "x", 8.0)
    # the same bytes in a float WAV upload: refused by the audio stage
    buf = io.BytesIO()
    garbage = np.array([0.1, 1e30, -0.2] * 100, np.float32)
    sf.write(buf, garbage, 16000, format="WAV", subtype="FLOAT")
    with pytest.raises(AudioError, match="not float audio"):
        _decode(buf.getvalue())
