"""Audio loading and resampling: formats, channels, and every bad-file case."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cmp_edge.audio import load, resample, to_int16
from cmp_edge.errors import AudioError

RATE = 16000


def _tone(n: int = 8000, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / RATE)


@pytest.mark.parametrize(
    ("subtype", "tol"),
    [
        ("PCM_U8", 1 / 128),
        ("PCM_16", 1 / 32768),
        ("PCM_24", 1e-6),
        ("FLOAT", 1e-7),
        ("DOUBLE", 1e-7),
    ],
)
def test_wav_sample_formats(tmp_path: Path, subtype: str, tol: float) -> None:
    path = tmp_path / f"{subtype}.wav"
    x = _tone()
    sf.write(path, x, RATE, subtype=subtype)
    y, sr = load(path)
    assert sr == RATE and y.dtype == np.float32 and y.shape == x.shape
    assert np.abs(y - x).max() <= tol
    assert y.min() >= -1.0 and y.max() < 1.0


def test_int16_wav_round_trips_exactly(tmp_path: Path) -> None:
    pcm = (np.random.default_rng(0).uniform(-1, 1, 5000) * 32767).astype(np.int16)
    path = tmp_path / "pcm.wav"
    sf.write(path, pcm, RATE, subtype="PCM_16")
    y, _ = load(path)
    np.testing.assert_array_equal(to_int16(y), pcm)


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_averaged(tmp_path: Path, channels: int) -> None:
    x = np.stack([_tone(freq=200.0 * (c + 1), amp=0.1) for c in range(channels)], axis=1)
    path = tmp_path / f"ch{channels}.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    y, _ = load(path)
    assert y.shape == (x.shape[0],)
    np.testing.assert_allclose(y, x.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize(("fmt", "ext"), [("FLAC", "flac"), ("OGG", "ogg")])
def test_compressed_formats(tmp_path: Path, fmt: str, ext: str) -> None:
    path = tmp_path / f"a.{ext}"
    sf.write(path, _tone(16000), 22050, format=fmt)
    y, sr = load(path)
    assert sr == 22050 and abs(len(y) - 16000) < 2048 and 0.3 < np.abs(y).max() < 0.7


def test_real_speech_files(shared_data: Path) -> None:
    files = sorted((shared_data / "speech").rglob("*.flac"))[:3]
    files += sorted((shared_data / "speech").rglob("*.ogg"))[:2]
    for path in files:
        y, sr = load(path)
        assert sr in (16000, 22050) and len(y) > sr and 0.01 < np.abs(y).max() < 1.0


def test_float_file_beyond_full_scale_is_clipped_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "loud.wav"
    sf.write(path, _tone(amp=1.5), RATE, subtype="FLOAT")
    with pytest.warns(UserWarning, match="exceed full scale"):
        y, _ = load(path)
    assert y.max() < 1.0 and y.min() >= -1.0


# --- bad files --------------------------------------------------------------------


def _expect(path: Path, match: str) -> str:
    with pytest.raises(AudioError, match=match) as info:
        load(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_missing_and_directory(tmp_path: Path) -> None:
    _expect(tmp_path / "nope.wav", "not found")
    _expect(tmp_path, "not a regular file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _expect(path, "empty")


def test_text_file_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are not the samples you are looking for\n" * 20)
    _expect(path, "not a readable audio file")


def test_wav_with_zero_samples(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0), RATE, subtype="PCM_16")
    _expect(path, "no audio samples")


def test_truncated_wav(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(16000), RATE, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect(path, "truncated")
    path.write_bytes(data[:30])  # cut inside the header
    _expect(path, "not a readable audio file|truncated")


def test_nan_and_inf_samples(tmp_path: Path) -> None:
    for bad in (np.nan, np.inf):
        x = _tone()
        x[1234] = bad
        path = tmp_path / "bad.wav"
        sf.write(path, x, RATE, subtype="FLOAT")
        _expect(path, "NaN or Inf samples \\(first at sample 1234\\)")


def _with_rate(path: Path, rate: int) -> None:
    data = bytearray(path.read_bytes())
    assert data[:4] == b"RIFF" and data[12:16] == b"fmt "
    struct.pack_into("<I", data, 24, rate)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("rate", [1, 10_000_000])
def test_absurd_sample_rates(tmp_path: Path, rate: int) -> None:
    path = tmp_path / "rate.wav"
    sf.write(path, _tone(), RATE, subtype="PCM_16")
    _with_rate(path, rate)
    _expect(path, f"sample rate {rate} Hz is outside")


# --- resampling -------------------------------------------------------------------


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000])
def test_resample_keeps_a_tone(sr: int) -> None:
    t = np.arange(sr) / sr
    y = resample(0.5 * np.sin(2 * np.pi * 1000.0 * t), sr, 16000)
    assert y.dtype == np.float32 and abs(len(y) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(y[1000:-1000]))
    peak_hz = np.argmax(spectrum) * 16000 / len(y[1000:-1000])
    assert abs(peak_hz - 1000.0) < 2.0


def test_resample_removes_content_above_the_new_nyquist() -> None:
    t = np.arange(48000) / 48000
    y = resample(0.5 * np.sin(2 * np.pi * 12000.0 * t), 48000, 16000)
    assert np.sqrt(np.mean(y[500:-500] ** 2)) < 1e-3  # would alias to 4 kHz if not filtered


def test_resample_identity_int16_and_errors() -> None:
    x = _tone().astype(np.float32)
    assert resample(x, 16000, 16000) is not None
    np.testing.assert_array_equal(resample(x, 16000), x)
    pcm = to_int16(x)
    np.testing.assert_allclose(resample(pcm, 16000), pcm / 32768.0)
    with pytest.raises(AudioError, match="outside the supported range"):
        resample(x, 1, 16000)
    with pytest.raises(AudioError, match="1-D"):
        resample(np.zeros((2, 5)), 16000)


# --- long audio -----------------------------------------------------------------


def _write_long_wav(path: Path, seconds: int, channels: int = 1) -> int:
    """A long 16 kHz PCM_16 WAV written block by block (no full-length array)."""
    frames = seconds * RATE
    block = (np.sin(2 * np.pi * 220.0 * np.arange(RATE * 60) / RATE) * 8000).astype("<i2")
    block = np.repeat(block[:, None], channels, axis=1)
    with sf.SoundFile(path, "w", RATE, channels, subtype="PCM_16") as f:
        for _ in range(seconds // 60):
            f.write(block)
    return frames


@pytest.mark.slow
def test_audio_longer_than_an_hour_memory_is_proportional(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    frames = _write_long_wav(path, 3660, channels=2)
    tracemalloc.start()
    try:
        y, sr = load(path, max_seconds=3700.0)  # above the default cap (600 s)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sr == RATE and y.shape == (frames,)
    # the mono float32 result plus one bounded read block, not a full 2-channel copy
    assert peak < y.nbytes + 64 * 2**20
    assert abs(float(y[RATE * 3600 + 5]) - float(y[5])) < 1e-6
