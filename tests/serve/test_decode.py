"""Byte decoding and the audio-quality report, against NumPy and soundfile."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from cmp_edge.errors import AudioError
from cmp_edge.serve.decode import TooLong, Unreadable, check_samples, decode_bytes, mix_to_mono
from cmp_edge.serve.quality import LevelMeter
from tests.runtime.helpers import synthetic_voice
from tests.serve.conftest import encode_with_pyav


def test_level_meter_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(0.02, 0.5, 48000), -1, 1).astype(np.float32)
    meter = LevelMeter()
    for start in range(0, len(x), 777):  # incremental == whole
        meter.update(x[start : start + 777])
    report = meter.report(48000, voiced_s=2.0, channels=2, container="wav", codec="pcm_16")
    assert report["duration_s"] == 1.0 and report["format"] == "wav/pcm_16"
    assert report["peak_dbfs"] == pytest.approx(20 * np.log10(np.abs(x).max()), abs=0.01)
    rms = np.sqrt(np.mean(x.astype(np.float64) ** 2))
    assert report["rms_dbfs"] == pytest.approx(20 * np.log10(rms), abs=0.01)
    assert report["dc_offset"] == pytest.approx(float(np.mean(x, dtype=np.float64)), abs=1e-6)
    assert report["clipped_fraction"] == pytest.approx(np.mean(np.abs(x) >= 0.999), abs=1e-6)
    notes = " ".join(report["notes"])
    assert "clipping" in notes and "DC offset" in notes and "only 2.0 s" in notes
    quiet = LevelMeter()
    quiet.update(x * np.float32(0.01))
    notes = " ".join(quiet.report(8000)["notes"])
    assert "quiet" in notes and "narrowband" in notes and "clipping" not in notes
    silent = LevelMeter()
    silent.update(np.zeros(100, np.float32))
    assert silent.report(16000)["peak_dbfs"] is None


def test_mix_to_mono() -> None:
    voice = synthetic_voice(1.0)
    notes: list[str] = []
    same = mix_to_mono(np.stack([voice, 0.5 * voice], axis=1), notes)
    np.testing.assert_allclose(same, 0.75 * voice, rtol=1e-6, atol=1e-7)
    assert notes == []
    flipped = mix_to_mono(np.stack([0.9 * voice, -voice], axis=1), notes)
    np.testing.assert_array_equal(flipped, -voice)  # the louder channel
    assert "antiphase" in notes[0]


def test_decode_matches_soundfile_and_limits() -> None:
    voice = synthetic_voice(2.0)
    for fmt, subtype in (("WAV", "PCM_24"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")):
        buf = io.BytesIO()
        sf.write(buf, voice, 16000, format=fmt, subtype=subtype)
        data = buf.getvalue()
        decoded = decode_bytes(data)
        expected, rate = sf.read(io.BytesIO(data), dtype="float32")
        assert rate == decoded.sample_rate == 16000 and decoded.channels == 1
        np.testing.assert_array_equal(decoded.samples, expected)
        with pytest.raises(TooLong, match="longer than 1"):
            decode_bytes(data, max_duration_s=1.0)
    with pytest.raises(AudioError, match="0 bytes"):
        decode_bytes(b"")
    with pytest.raises(Unreadable):
        decode_bytes(b"\x00" * 1000)


def test_browser_recordings_and_cut_files() -> None:
    from scipy.signal import resample_poly

    voice = resample_poly(synthetic_voice(3.0), 3, 1).astype(np.float32)
    webm = encode_with_pyav(voice, 48000, "webm", "libopus")
    decoded = decode_bytes(webm)
    assert decoded.codec == "opus" and decoded.sample_rate == 48000
    assert decoded.duration_s == pytest.approx(3.0, abs=0.03)
    # a recording cut short (tab closed mid-upload) keeps what was decoded
    cut = decode_bytes(webm[: len(webm) * 2 // 3])
    assert 1.0 < cut.duration_s < 2.9
    with pytest.raises(TooLong):
        decode_bytes(webm, max_duration_s=2.0)
    mp4 = decode_bytes(encode_with_pyav(voice, 48000, "mp4", "aac"))
    assert mp4.codec == "aac" and mp4.duration_s == pytest.approx(3.0, abs=0.05)


def test_check_samples() -> None:
    x = np.array([0.5, 1.5, -2.0], np.float32)
    np.testing.assert_array_equal(check_samples(x, "x", 8.0), [0.5, 1.0, -1.0])
    with pytest.raises(AudioError, match="NaN"):
        check_samples(np.array([0.1, np.nan], np.float32), "x", 8.0)
    with pytest.raises(AudioError, match="1e\\+38"):
        check_samples(np.array([0.1, 1e38], np.float32), "x", 8.0)
