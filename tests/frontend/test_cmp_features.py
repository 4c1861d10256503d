"""The full pipeline on real speech: parity, and the statistics of published features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmp_edge.audio import load, resample
from cmp_edge.audio.vad import remove_silence
from cmp_edge.errors import AudioError, NoSpeechError
from cmp_edge.features import cmp_features, log_mel
from tests.frontend.reference import reference_log_mel, reference_normalize
from tests.frontend.signals import synthetic


def _period(f: np.ndarray) -> int:
    """Smallest shift under which the padded sequence repeats itself (T if none)."""
    t = f.shape[0]
    for q in range(1, t):
        if np.array_equal(f[q:], f[:-q]):
            return q
    return t


def _speech(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "speech").rglob("*.flac"))[:4]
    files += sorted((shared_data / "speech").rglob("*.ogg"))[:2]
    assert len(files) >= 4
    return files


def _published(shared_data: Path) -> list[np.ndarray]:
    files = sorted((shared_data / "cmp_features" / "preprocessed_MFCC").rglob("*.npy"))
    assert len(files) == 15
    return [np.load(p) for p in files]


def _unique_part(f: np.ndarray) -> np.ndarray:
    return f[: _period(f)] if f.shape[0] == 1000 else f


def test_raw_log_mel_parity_on_real_speech(shared_data: Path) -> None:
    for path in _speech(shared_data):
        x, sr = load(path)
        x16 = resample(x, sr, 16000)
        ref = reference_log_mel(x16.astype(np.float64) * 32768.0)
        assert np.abs(log_mel(x16, 16000) - ref).max() < 1e-3  # measured ~1e-6


def test_pipeline_parity_on_real_speech(shared_data: Path) -> None:
    for path in _speech(shared_data):
        x, sr = load(path)
        voiced = remove_silence(resample(x, sr, 16000))
        ref = reference_normalize(reference_log_mel(voiced.astype(np.float64) * 32768.0))
        out = cmp_features(x, sr)
        t = ref.shape[0]
        assert out.shape == (max(t, 1000), 64) and out.dtype == np.float32
        assert np.abs(out[:t] - ref).max() < 1e-4
        if t < 1000:
            np.testing.assert_array_equal(out[t:1000], out[: 1000 - t])


def test_published_features_have_the_properties_we_reproduce(shared_data: Path) -> None:
    for f in _published(shared_data):
        u = _unique_part(f)
        assert f.dtype == np.float32 and f.shape[1] == 64 and f.shape[0] >= 1000
        # VAD output is a multiple of 320 samples, so the frame count n // 160 + 1 is odd
        assert u.shape[0] % 2 == 1
        assert np.abs(u.mean(axis=0)).max() < 1e-4
        assert np.abs(u.std(axis=0) - 1.0).max() < 1e-3


def test_our_features_have_the_published_statistics(shared_data: Path) -> None:
    published = _published(shared_data)
    lo = min(float(f.min()) for f in published)
    hi = max(float(f.max()) for f in published)
    for path in _speech(shared_data):
        x, sr = load(path)
        f = cmp_features(x, sr)
        u = _unique_part(f)
        assert f.shape[0] >= 1000 and f.shape[1] == 64
        assert u.shape[0] % 2 == 1
        assert np.abs(u.mean(axis=0)).max() < 1e-4
        assert np.abs(u.std(axis=0) - 1.0).max() < 1e-3
        # same kind of range as the published features (silence removed, log compressed)
        assert lo - 6.0 < float(f.min()) < -2.0 and 2.0 < float(f.max()) < hi + 3.0


def test_input_forms_agree() -> None:
    x = synthetic("speechlike", 16000 * 3, seed=2).astype(np.float32)
    pcm = np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int16)
    a = cmp_features(pcm, 16000)
    b = cmp_features(pcm.astype(np.float32) / 32768.0, 16000)
    np.testing.assert_array_equal(a, b)


def test_no_vad_and_no_padding() -> None:
    x = synthetic("speechlike", 16000, seed=3).astype(np.float32)
    f = cmp_features(x, 16000, vad=False, pad_to=None)
    assert f.shape == (101, 64)
    ref = reference_normalize(reference_log_mel(x.astype(np.float64) * 32768.0))
    assert np.abs(f - ref).max() < 1e-4


def test_resampled_input_is_close_to_native_rate() -> None:
    x = synthetic("speechlike", 16000 * 3, seed=4)
    x48 = resample(x, 16000, 48000)
    a = cmp_features(x, 16000, vad=False, pad_to=None)
    b = cmp_features(x48, 48000, vad=False, pad_to=None)
    assert a.shape == b.shape
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.98


@pytest.mark.parametrize(
    ("samples", "rate", "error", "match"),
    [
        (np.zeros(0, np.float32), 16000, AudioError, "empty"),
        (np.zeros((2, 100), np.float32), 16000, AudioError, "1-D"),
        (np.array([0.0, np.nan] * 1000), 16000, AudioError, "NaN or Inf"),
        (np.zeros(1000, np.int64), 16000, AudioError, "int16 or float"),
        (np.zeros(1000, np.float32), 1, AudioError, "outside the supported range"),
        (np.zeros(1000, np.float32), 10_000_000, AudioError, "outside the supported range"),
        (np.zeros(32000, np.float32), 16000, NoSpeechError, "no speech found"),
    ],
)
def test_bad_input(samples: np.ndarray, rate: int, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        cmp_features(samples, rate)


def test_silence_without_vad_is_allowed() -> None:
    # every frame is the log floor; float32 normalisation of a constant is what it is
    f = cmp_features(np.zeros(32000, np.float32), 16000, vad=False)
    ref = reference_normalize(np.full((201, 64), np.log(1e-5)))
    assert f.shape == (1000, 64) and np.isfinite(f).all()
    np.testing.assert_array_equal(f[:201], ref)
