"""Kinds 4, 5, 7, 8, 9 at the signal level: shapes, channels, quality, resampling, and the
incremental front end's bit-identity with the batch path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cmp_edge.audio.channels import ChannelStats, downmix, parse_channel
from cmp_edge.audio.quality import QualityMeter
from cmp_edge.audio.resampler import Resampler
from cmp_edge.audio.signal import as_frames, as_mono_float32
from cmp_edge.errors import AudioError
from cmp_edge.features.cmp import cmp_features
from cmp_edge.features.normalize import normalize, repeat_pad
from cmp_edge.features.pipeline import FeaturePipeline
from tests.runtime.helpers import synthetic_voice

N = 4000


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    ("shape", "channels"),
    [
        ((N,), 1),
        ((N, 1), 1),
        ((1, N), 1),
        ((N, 2), 2),
        ((2, N), 2),
        ((6, N), 6),
        ((N, 6), 6),
        ((30, 2), 2),
        ((2, 30), 2),
    ],
)
def test_array_shapes_are_read_when_unambiguous(shape: tuple[int, ...], channels: int) -> None:
    x = np.random.default_rng(0).uniform(-0.5, 0.5, shape).astype(np.float32)
    frames = as_frames(x, 16000)
    n = max(shape)
    assert frames.shape == (n, channels)
    expected = x.reshape(-1, 1) if x.ndim == 1 else (x if x.shape[0] == n else x.T)
    np.testing.assert_array_equal(frames, expected)


@pytest.mark.parametrize("shape", [(2, 2), (500, 600), (1, 1, N), (64, 64), (70, 65)])
def test_ambiguous_shapes_name_the_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(AudioError, match=r"shape \(" + ", ".join(map(str, shape))):
        as_mono_float32(np.zeros(shape, np.float32), 16000)


def test_short_stream_chunks_can_be_forced_channels_last() -> None:
    one_frame = np.array([[0.5, -0.25]], np.float32)  # one stereo frame
    assert as_frames(one_frame, 16000, channels_last=True).shape == (1, 2)
    assert as_frames(one_frame, 16000).shape == (2, 1)  # read as (channels, n) otherwise


def test_int16_channel_first_is_scaled_and_averaged() -> None:
    pcm = np.array([[16384, -16384, 8192] * 100, [0, 0, 8192] * 100], np.int16)
    mono = as_mono_float32(pcm, 16000)
    np.testing.assert_allclose(mono[:3], [0.25, -0.25, 0.25])


# ----------------------------------------------------------------------------- channels
def test_antiphase_is_detected_and_the_loudest_channel_chosen() -> None:
    v = synthetic_voice(1.0)
    stereo = np.stack([v, -0.9 * v], axis=1)
    stats = ChannelStats(2)
    stats.update(stereo, downmix(stereo))
    # mix = 0.05 v: 20 log10(mean(1, 0.81) / 0.0025) dB below
    assert stats.cancellation_db == pytest.approx(10 * math.log10(0.905 / 0.0025), abs=0.01)
    assert stats.cancelled and stats.best == 0 and stats.resolve("auto") == 0
    assert stats.correlation == pytest.approx(-1.0, abs=1e-6)
    inphase = ChannelStats(2)
    both = np.stack([v, 0.5 * v], axis=1)
    inphase.update(both, downmix(both))
    assert not inphase.cancelled and inphase.resolve("auto") == "mix"
    assert inphase.resolve("best") == 0 and inphase.correlation == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "value"), [("auto", "auto"), ("MIX", "mix"), ("left", 0), ("right", 1), ("3", 3)]
)
def test_channel_choices(text: str, value: object) -> None:
    assert parse_channel(text) == value


@pytest.mark.parametrize("bad", ["centre", "-1", -2, True])
def test_bad_channel_choice(bad: object) -> None:
    with pytest.raises(AudioError, match="channel"):
        parse_channel(bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- quality
def _meter(x: np.ndarray, rate: int = 16000, block: int = 7777) -> QualityMeter:
    m = QualityMeter(rate)
    for i in range(0, x.shape[0], block):
        m.update(np.ascontiguousarray(x[i : i + block], np.float32))
    return m


def test_levels_dc_and_clipping_match_numpy() -> None:
    t = np.arange(16000 * 3) / 16000
    x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.02).astype(np.float32)
    x[:480] = 1.0  # 1 % clipped
    q = _meter(x).report()
    ref = x.astype(np.float64)
    assert q.peak_dbfs == pytest.approx(20 * np.log10(np.abs(ref).max()), abs=1e-6)
    assert q.rms_dbfs == pytest.approx(10 * np.log10(np.mean(ref**2)), abs=1e-6)
    assert q.dc_offset == pytest.approx(ref.mean(), abs=1e-9)
    assert q.clipped_fraction == pytest.approx(480 / x.size)
    assert any("clipping" in i for i in q.issues()) and any("DC" in i for i in q.issues())


def _band_noise(rate: int, lo: float, hi: float, seconds: float = 4.0) -> np.ndarray:
    n = int(rate * seconds)
    spec = np.fft.rfft(np.random.default_rng(1).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / rate)
    spec[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spec, n)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize(("rate", "hi"), [(16000, 3400.0), (16000, 7500.0), (8000, 3400.0)])
def test_bandwidth_finds_the_band_edge(rate: int, hi: float) -> None:
    q = _meter(_band_noise(rate, 300.0, hi), rate).report()
    assert abs(q.bandwidth_hz - hi) < 250.0
    assert any("narrowband" in i for i in q.issues()) == (hi < 5500)


def test_quality_does_not_depend_on_blocking() -> None:
    x = synthetic_voice(2.0)
    a, b = _meter(x, block=160).report(), _meter(x, block=100000).report()
    assert a.bandwidth_hz == b.bandwidth_hz and a.clipped_fraction == b.clipped_fraction
    assert a.peak_dbfs == b.peak_dbfs and a.rms_dbfs == pytest.approx(b.rms_dbfs, abs=1e-9)


# ----------------------------------------------------------------------------- resampling
@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampler_is_chunk_invariant_and_ceil_long(rate: int) -> None:
    x = np.random.default_rng(2).uniform(-0.5, 0.5, rate * 2 + 77).astype(np.float32)
    outs = []
    for block in (100, 4096, x.size):
        r = Resampler(rate, 16000)
        parts = [r.accept(x[i : i + block]) for i in range(0, x.size, block)]
        outs.append(np.concatenate([*parts, r.finish()]))
    for y in outs[1:]:
        np.testing.assert_array_equal(outs[0], y)
    assert outs[0].shape == (math.ceil(x.size * 16000 / rate),)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_resampler_matches_a_polyphase_reference_on_a_tone(rate: int) -> None:
    from scipy.signal import resample_poly

    t = np.arange(rate) / rate
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    r = Resampler(rate, 16000)
    y = np.concatenate([r.accept(x), r.finish()])
    g = math.gcd(rate, 16000)
    ref = resample_poly(x, 16000 // g, rate // g)
    core = slice(800, 15200)  # away from the edges, where the two filters' transients differ
    assert np.abs(y[core] - ref[core]).max() < 2e-3


# ----------------------------------------------------------------------------- front end
def _pipeline_features(x: np.ndarray, rate: int, block: int, vad: bool = True) -> np.ndarray:
    frames = x.reshape(x.shape[0], -1)
    pipe = FeaturePipeline(rate, frames.shape[1], vad=vad)
    for i in range(0, frames.shape[0], block):
        pipe.accept(np.ascontiguousarray(frames[i : i + block], np.float32))
    res = pipe.finish()
    return np.asarray(repeat_pad(normalize(res.frames), 1000), np.float32)


@pytest.mark.parametrize("rate", [16000, 44100, 8000])
@pytest.mark.parametrize("block", [333, 65536])
def test_incremental_features_are_bit_identical_to_the_batch_path(rate: int, block: int) -> None:
    from cmp_edge.audio import resample

    x = resample(synthetic_voice(4.0, seed=5), 16000, rate)
    np.testing.assert_array_equal(_pipeline_features(x, rate, block), cmp_features(x, rate))


def test_incremental_features_without_vad_and_from_stereo() -> None:
    x = synthetic_voice(2.0, seed=6)
    np.testing.assert_array_equal(
        _pipeline_features(x, 16000, 1000, vad=False), cmp_features(x, 16000, vad=False)
    )
    stereo = np.stack([x, 0.5 * x], axis=1)
    np.testing.assert_array_equal(
        _pipeline_features(stereo, 16000, 999), cmp_features(downmix(stereo), 16000)
    )
