"""Kinds 1-3 of issue 11: containers and codecs, header placeholders, file names."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cmp_edge.audio import load
from cmp_edge.audio.formats import AUDIO_SUFFIXES, is_audio_file, sniff
from cmp_edge.audio.headers import riff_truncation
from cmp_edge.audio.reader import load_bytes, open_audio
from cmp_edge.errors import AudioError
from tests.field.media import encode, pipe_wav, write
from tests.runtime.helpers import synthetic_voice

FIELD = (
    "reference_16k_pcm16.wav",
    "vox2_aac_16k.m4a",
    "browser_mediarecorder.webm",
    "voice_memo_ogg.opus",
    "telephone_8k_mulaw.wav",
    "quiet_peak_-40dBFS.wav",
    "dc_offset_0.05.wav",
    "clipped_hot_+24dB.wav",
    "stereo_antiphase.wav",
)


@pytest.fixture(scope="module")
def field(shared_data: Path) -> Path:
    return shared_data / "field"


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    return synthetic_voice(2.0, seed=3)


def _best_lag_corr(a: np.ndarray, b: np.ndarray, max_lag: int = 4000) -> float:
    """Highest normalised cross-correlation over lags up to ``max_lag`` (lossy codecs add
    a priming delay), computed with an FFT."""
    n = min(a.shape[0], b.shape[0])
    x = np.asarray(a[:n], np.float64) - np.mean(a[:n])
    y = np.asarray(b[:n], np.float64) - np.mean(b[:n])
    size = 1 << int(np.ceil(np.log2(2 * n)))
    c = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size)), size)
    lags = np.concatenate([c[:max_lag], c[-max_lag:]])
    return float(lags.max() / (np.linalg.norm(x) * np.linalg.norm(y)))


@pytest.mark.parametrize("name", FIELD)
def test_every_field_file_decodes_to_the_reference(field: Path, name: str) -> None:
    ref, ref_sr = load(field / "reference_16k_pcm16.wav")
    x, sr = load(field / name, channel=0)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(x.shape[0] / sr - ref.shape[0] / ref_sr) < 0.1  # same 8.9 s, whatever the codec
    from cmp_edge.audio import resample

    y = resample(x, sr, 16000)
    # the phone line keeps only 300-3400 Hz of the reference
    assert _best_lag_corr(ref, y) > (0.4 if "telephone" in name else 0.6), name


def test_registry_lists_the_field_containers_and_sniffs_them(field: Path) -> None:
    for name in FIELD:
        assert Path(name).suffix in AUDIO_SUFFIXES
        with (field / name).open("rb") as handle:
            assert sniff(handle.read(64)) is not None, name
    assert sniff(b"hello world, a manifest\n") is None
    assert sniff("a.wav\n".encode("utf-16")) is None  # BOM FF FE: text, not MPEG audio


@pytest.mark.parametrize(
    ("fmt", "codec", "suffix", "rate"),
    [
        ("webm", "libopus", ".webm", 48000),
        ("ogg", "libopus", ".opus", 48000),
        ("ipod", "aac", ".m4a", 16000),
        ("mp4", "aac", ".mp4", 44100),
        ("matroska", "libopus", ".mkv", 48000),
        ("mov", "aac", ".mov", 48000),
        ("amr", "libopencore_amrnb", ".amr", 8000),
        ("ac3", "ac3", ".ac3", 48000),
        ("mp3", "libmp3lame", ".mp3", 44100),
    ],
)
def test_generated_containers_decode_from_files_and_bytes(
    tmp_path: Path, voice: np.ndarray, fmt: str, codec: str, suffix: str, rate: int
) -> None:
    from cmp_edge.audio import resample

    src = resample(voice, 16000, rate)
    data = encode(src, rate, fmt, codec)
    path = write(tmp_path / f"rec{suffix}", data)
    assert is_audio_file(path) and sniff(data[:64]) is not None
    x, sr = load(path)
    assert sr == rate and abs(x.shape[0] - src.shape[0]) < 0.15 * rate  # codec priming
    # AMR-NB is a parametric speech codec: it keeps the spectrum, not the waveform
    assert _best_lag_corr(src, x) > (0.3 if codec.endswith("amrnb") else 0.9)
    y, sr2 = load_bytes(data, name="upload")  # e.g. a browser upload, no duration in the header
    assert sr2 == sr
    np.testing.assert_array_equal(x, y)
    # without a suffix the signature still says it is audio
    bare = write(tmp_path / "no_suffix", data)
    assert is_audio_file(bare)


def test_sniff_recognises_common_signatures() -> None:
    cases = {
        b"RIFF\0\0\0\0WAVE": "wav",
        b"fLaC": "flac",
        b"OggS": "ogg",
        b"ID3\x04": "mp3",
        b"\xff\xfb\x90": "mp3",
        b"\xff\xf1\x50": "aac",
        b"\0\0\0\x20ftypM4A ": "mp4",
        b"\x1a\x45\xdf\xa3": "matroska",
        b"#!AMR\n": "amr",
    }
    for head, name in cases.items():
        assert sniff(head) == name


def test_not_audio_and_empty_bytes_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not a readable audio file"):
        load(write(tmp_path / "fake.m4a", b"\0\1\2garbage" * 50))
    with pytest.raises(AudioError, match="empty"):
        load_bytes(b"")
    with pytest.raises(AudioError, match="not a readable audio file"):
        load_bytes(b"definitely not audio" * 10, name="up.webm")


@pytest.mark.parametrize(
    ("riff", "data"),
    [
        (0xFFFFFFFF, 0xFFFFFFFF),  # FFmpeg to a pipe
        (0x7FFFF024, 0x7FFFF000),  # SoX to a pipe: just under 2^31
        (36 + 32000, 0x7FFFFFFF),
    ],
)
def test_pipe_header_placeholders_read_completely(
    tmp_path: Path, voice: np.ndarray, riff: int, data: int
) -> None:
    pcm = np.round(voice * 32767).astype(np.int16)
    path = write(tmp_path / "pipe.wav", pipe_wav(pcm, 16000, riff, data))
    assert riff_truncation(path, path.stat().st_size) is None
    x, sr = load(path)
    assert sr == 16000
    np.testing.assert_array_equal(np.round(x * 32768).astype(np.int16), pcm)


def test_a_really_truncated_wav_is_still_reported(tmp_path: Path, voice: np.ndarray) -> None:
    pcm = np.round(voice * 32767).astype(np.int16)
    full = pipe_wav(pcm, 16000, 36 + 2 * pcm.size, 2 * pcm.size)
    path = write(tmp_path / "cut.wav", full[: len(full) // 2])
    with pytest.raises(AudioError, match="truncated"):
        load(path)


@pytest.mark.parametrize(
    "raw",
    [b"caf\xe9 latin-1.wav", "spaces and 日本語 name.wav".encode(), b"\xff\xfe odd.wav"],
)
def test_any_file_name_is_read(tmp_path: Path, voice: np.ndarray, raw: bytes) -> None:
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), raw)))
    with open(os.fsencode(path), "wb") as handle:
        sf.write(handle, voice, 16000, subtype="FLOAT", format="WAV")
    x, sr = load(path)
    np.testing.assert_array_equal(x, voice)
    with open_audio(path) as src:
        src.name.encode("utf-8")  # printable in messages
    with pytest.raises(AudioError) as info:
        load(path.with_name(path.name + ".missing"))
    str(info.value).encode("utf-8")
