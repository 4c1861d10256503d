"""Batch log-mel: options, parity with the float64 reference, input handling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from cmp_edge import _C
from cmp_edge.features import LogMelOptions, log_mel, normalize, repeat_pad
from tests.frontend.reference import (
    hann,
    reference_filterbank,
    reference_log_mel,
    reference_normalize,
)
from tests.frontend.signals import NAMES, synthetic

RAW_TOL = 1e-3  # issue 2: raw log spectrum
NORM_TOL = 1e-4  # issue 2: normalised features
LENGTHS = [0, 1, 159, 160, 161, 399, 400, 401, 480, 800, 1600, 16000]


def _isas() -> list[str]:
    return ["generic", "avx2+fma"] if _C.log_mel_best_isa() == "avx2+fma" else ["generic"]


# --- options ---------------------------------------------------------------


def test_options_defaults_are_the_cmp_preset() -> None:
    o = LogMelOptions.preset("cmp")
    assert o == LogMelOptions()
    assert (o.sample_rate, o.n_mels, o.f_min, o.f_max) == (16000, 64, 20.0, 7200.0)
    assert (o.n_fft, o.win_length, o.hop_length) == (1024, 400, 160)
    assert (o.preemphasis, o.window, o.floor) == (0.97, "hamming", 1e-5)


def test_options_round_trip_repr_pickle() -> None:
    o = LogMelOptions(n_mels=40, f_max=7000.0)
    assert LogMelOptions.from_dict(o.to_dict()) == o
    assert pickle.loads(pickle.dumps(o)) == o
    assert "n_mels=40" in repr(o) and "f_max=7000.0" in repr(o)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_fft": 1000},
        {"win_length": 2048},
        {"win_length": 1},
        {"hop_length": 0},
        {"n_mels": 0},
        {"f_min": 7200.0},
        {"f_max": 9000.0},
        {"f_min": -1.0},
        {"preemphasis": 1.0},
        {"window": "kaiser"},
        {"floor": 0.0},
        {"floor": float("nan")},
        {"sample_rate": 16000.5},
        {"n_mels": True},
        {"sample_rate": 10},
    ],
)
def test_options_reject_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="LogMelOptions"):
        LogMelOptions(**kwargs)  # type: ignore[arg-type]


def test_options_from_dict_rejects_unknown_keys_and_presets() -> None:
    with pytest.raises(ValueError, match="unknown LogMelOptions fields"):
        LogMelOptions.from_dict({"nmels": 64})
    with pytest.raises(ValueError, match="unknown LogMelOptions preset"):
        LogMelOptions.preset("kaldi")


def test_too_many_filters_for_the_fft_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="has no width"):
        log_mel(
            np.zeros(1000, np.float32), 16000, LogMelOptions(n_mels=400, n_fft=256, win_length=256)
        )


# --- parity with the float64 reference ---------------------------------------


@pytest.mark.parametrize("isa", _isas())
@pytest.mark.parametrize("name", NAMES)
def test_parity_synthetic_10s(name: str, isa: str) -> None:
    x = synthetic(name, 160000).astype(np.float32)
    ref = reference_log_mel(x.astype(np.float64) * 32768.0)
    out = _C.LogMel(isa=isa).compute(x, 32768.0, 1)
    assert out.shape == ref.shape == (1001, 64)
    assert np.abs(out - ref).max() < RAW_TOL


@pytest.mark.parametrize("isa", _isas())
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("name", ["noise", "chirp", "silence", "tone_1k"])
def test_parity_lengths(name: str, n: int, isa: str) -> None:
    x = synthetic(name, n, seed=n).astype(np.float32)
    ref = reference_log_mel(x.astype(np.float64) * 32768.0)
    out = _C.LogMel(isa=isa).compute(x, 32768.0, 1)
    assert out.shape == (n // 160 + 1, 64)
    np.testing.assert_allclose(out, ref, rtol=0, atol=RAW_TOL)


@pytest.mark.parametrize("n", [0, 1, 159, 160, 161, 399, 400, 401, 640, 1600])
def test_default_kernel_is_float64_exact(n: int) -> None:
    # The default (float64) kernel is limited only by the float32 output.
    x = synthetic("speechlike", n, seed=3).astype(np.float32)
    ref = reference_log_mel(x.astype(np.float64) * 32768.0)
    out = log_mel(x, 16000)
    assert np.abs(out - ref).max() < 1e-5


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_instruction_sets_agree(precision: str) -> None:
    x = synthetic("speechlike", 32000, seed=5).astype(np.float32)
    outs = [_C.LogMel(isa=i, precision=precision).compute(x, 32768.0, 1) for i in _isas()]
    tol = 2e-5 if precision == "float64" else RAW_TOL
    assert all(np.abs(o - outs[0]).max() < tol for o in outs)
    assert _C.LogMel(isa="generic", precision=precision).precision == precision


def test_float32_kernel_is_close_but_float64_is_the_default() -> None:
    # Why the default kernel is float64: a clean chirp has > 80 dB between mel bands
    # of one frame, where float32 rounding reaches ~1e-3 in the log.
    x = synthetic("chirp", 160000).astype(np.float32)
    ref = reference_log_mel(x.astype(np.float64) * 32768.0)
    f32 = _C.LogMel(precision="float32").compute(x, 32768.0, 1)
    assert _C.LogMel().precision == "float64"
    assert np.abs(f32 - ref).max() < 1e-2
    assert np.abs(log_mel(x, 16000) - ref).max() < 1e-5


@pytest.mark.parametrize("name", ["noise", "chirp", "speechlike", "clipped"])
def test_normalised_parity(name: str) -> None:
    x = synthetic(name, 160000).astype(np.float32)
    ref = reference_normalize(reference_log_mel(x.astype(np.float64) * 32768.0))
    assert np.abs(normalize(log_mel(x, 16000)) - ref).max() < NORM_TOL


def test_silence_is_the_log_floor() -> None:
    out = log_mel(np.zeros(3200, np.float32), 16000)
    np.testing.assert_allclose(out, np.log(1e-5), rtol=1e-6)


def test_empty_frame_pre_emphasis_quirk() -> None:
    # len % 160 == 0: the last frame is empty (zeros) but its pre-emphasis sees the
    # prior (last sample of the previous filled frame), so it is not the floor.
    x = np.full(480, 0.5, np.float32)
    out = log_mel(x, 16000)
    ref = reference_log_mel(x.astype(np.float64) * 32768.0)
    assert out.shape == (4, 64)
    assert out[3].max() > np.log(1e-5) + 1.0
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_reference_filterbank_is_the_sparse_sphinx_one() -> None:
    # 836 non-zero weights, nothing above bin 460 (7200 Hz).
    fb = reference_filterbank()
    assert (fb > 0).sum() == 836
    assert fb.shape == (513, 64) and fb[461:].sum() == 0.0


def test_cmp_options_non_default_still_match_reference() -> None:
    x = synthetic("noise", 4000, seed=5).astype(np.float32)
    o = LogMelOptions(n_mels=40, f_max=8000.0)
    weights = reference_filterbank(n_mels=40, f_max=8000.0)
    ref = reference_log_mel(x.astype(np.float64) * 32768.0, weights)
    np.testing.assert_allclose(log_mel(x, 16000, o), ref, atol=1e-5)


def test_full_band_and_hann_window_match_reference() -> None:
    # f_max at Nyquist: the last filter reaches bin 511 (its right edge is bin 512).
    x = synthetic("noise", 4000, seed=10).astype(np.float32)
    o = LogMelOptions(f_min=0.0, f_max=8000.0, window="hann")
    weights = reference_filterbank(f_min=0.0, f_max=8000.0)
    assert weights[511].any() and not weights[512].any()
    ref = reference_log_mel(x.astype(np.float64) * 32768.0, weights, hann())
    np.testing.assert_allclose(log_mel(x, 16000, o), ref, atol=1e-5)


# --- input handling -----------------------------------------------------------


def test_int16_and_float_inputs_agree() -> None:
    pcm = (synthetic("noise", 5000, seed=6) * 32768).astype(np.int16)
    a = log_mel(pcm, 16000)
    b = log_mel(pcm.astype(np.float32) / 32768.0, 16000)
    c = log_mel(pcm.astype(np.float64) / 32768.0, 16000)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_non_contiguous_and_list_inputs() -> None:
    x = synthetic("noise", 8000, seed=7).astype(np.float32)
    strided = np.repeat(x, 2)[::2]
    assert not strided.flags.c_contiguous and strided.strides == (2 * x.itemsize,)
    np.testing.assert_array_equal(log_mel(strided, 16000), log_mel(x, 16000))
    np.testing.assert_array_equal(log_mel(x.tolist(), 16000), log_mel(x, 16000))


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        (np.zeros((2, 100), np.float32), "1-D"),
        (np.zeros(100, np.int32), "int16 or floating"),
        (np.zeros(100, np.complex64), "int16 or floating"),
        (np.array(["a", "b"]), "int16 or floating"),
        (np.array([0.0, np.nan], np.float32), "NaN or Inf"),
        (np.array([0.0, np.inf]), "NaN or Inf"),
        (np.array([0.0, 1e300]), "NaN or Inf"),
    ],
)
def test_bad_samples_raise_value_error(samples: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        log_mel(samples, 16000)


def test_wrong_rate_and_threads() -> None:
    x = np.zeros(100, np.float32)
    with pytest.raises(ValueError, match="resample first"):
        log_mel(x, 22050)
    with pytest.raises(ValueError, match="threads"):
        log_mel(x, 16000, threads=0)


def test_native_binding_rejects_bad_arrays() -> None:
    plan = _C.LogMel()
    with pytest.raises(ValueError, match="NumPy array"):
        plan.compute([0.0, 1.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1-D"):
        plan.compute(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="real numeric"):
        plan.compute(np.zeros(3, np.complex128))
    with pytest.raises(ValueError, match="scale"):
        plan.compute(np.zeros(3, np.float32), float("nan"))
    with pytest.raises(ValueError, match="isa"):
        _C.LogMel(isa="neon")
    with pytest.raises(ValueError, match="precision"):
        _C.LogMel(precision="float16")
    # a float64 array is cast, not rejected
    assert plan.compute(np.zeros(400)).shape == (3, 64)


def test_threads_give_identical_results() -> None:
    x = synthetic("speechlike", 16000 * 30, seed=8).astype(np.float32)
    np.testing.assert_array_equal(log_mel(x, 16000, threads=2), log_mel(x, 16000, threads=1))


def test_result_is_owned() -> None:
    x = synthetic("noise", 4000).astype(np.float32)
    out, again = log_mel(x, 16000), log_mel(x, 16000)
    assert out.flags.writeable and not np.shares_memory(out, again)
    expected = again.copy()
    out[:] = 0  # writable, independent of any internal buffer and of other results
    np.testing.assert_array_equal(again, expected)
    np.testing.assert_array_equal(log_mel(x, 16000), expected)


# --- normalise and pad ------------------------------------------------------------


def test_normalize_matches_reference_and_handles_one_frame() -> None:
    spec = np.random.default_rng(9).normal(3.0, 2.0, (50, 64))
    np.testing.assert_array_equal(normalize(spec), reference_normalize(spec))
    assert np.all(normalize(spec[:1]) == 0.0)
    with pytest.raises(ValueError, match=r"\(T, n_mels\)"):
        normalize(np.zeros((0, 64)))


def test_repeat_pad() -> None:
    f = np.arange(3 * 2, dtype=np.float32).reshape(3, 2)
    padded = repeat_pad(f, 8)
    assert padded.shape == (8, 2)
    np.testing.assert_array_equal(padded[3:6], f)
    np.testing.assert_array_equal(padded[6:], f[:2])
    long = np.zeros((1200, 64), np.float32)
    assert repeat_pad(long, 1000) is long
    assert repeat_pad(f, None) is f
