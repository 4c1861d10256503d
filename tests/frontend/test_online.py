"""Streaming log-mel: equality with batch for any chunking, absolute indices, misuse."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmp_edge import _C
from cmp_edge.features import LogMelOptions, OnlineLogMel, log_mel
from tests.frontend.signals import synthetic

SIGNAL = synthetic("speechlike", 4000, seed=11).astype(np.float32)


def _stream(
    x: np.ndarray, sizes: list[int], finish: bool = True, options: LogMelOptions | None = None
) -> OnlineLogMel:
    s = OnlineLogMel() if options is None else OnlineLogMel(options)
    pos = 0
    i = 0
    while pos < len(x):
        size = sizes[i % len(sizes)] if sizes else len(x)
        s.accept_waveform(x[pos : pos + size])
        pos += size
        i += 1
    if finish:
        s.input_finished()
    return s


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=len(SIGNAL)),
    sizes=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=12),
)
def test_any_chunking_equals_batch(n: int, sizes: list[int]) -> None:
    x = SIGNAL[:n]
    s = _stream(x, sizes)
    assert s.num_frames_ready == n // 160 + 1
    np.testing.assert_array_equal(s.get_frames(0, s.num_frames_ready), log_mel(x, 16000))


@pytest.mark.parametrize("size", [1, 37, 160, 1600, 4000])
def test_fixed_chunk_sizes_equal_batch(size: int) -> None:
    s = _stream(SIGNAL, [size])
    np.testing.assert_array_equal(s.get_frames(0, s.num_frames_ready), log_mel(SIGNAL, 16000))


def test_frames_are_ready_as_soon_as_complete() -> None:
    s = OnlineLogMel()
    s.accept_waveform(SIGNAL[:399])
    assert s.num_frames_ready == 0
    s.accept_waveform(SIGNAL[399:400])
    assert s.num_frames_ready == 1
    s.accept_waveform(SIGNAL[400:720])
    assert s.num_frames_ready == 3  # frames 0..2 end at 400, 560, 720
    s.input_finished()
    assert s.num_frames_ready == 720 // 160 + 1
    assert s.is_finished


def test_empty_stream_gives_the_single_zero_frame() -> None:
    s = OnlineLogMel()
    s.accept_waveform(np.zeros(0, np.float32))
    s.input_finished()
    np.testing.assert_array_equal(s.get_frames(0, 1), log_mel(np.zeros(0, np.float32), 16000))


def test_pop_keeps_absolute_indices() -> None:
    s = _stream(SIGNAL, [500])
    full = s.get_frames(0, s.num_frames_ready)
    s.pop(5)
    assert s.first_frame == 5
    np.testing.assert_array_equal(s.get_frames(5, 3), full[5:8])
    with pytest.raises(IndexError, match="outside the held frames"):
        s.get_frames(4, 1)
    s.pop(s.num_frames_ready - 5)
    assert s.first_frame == s.num_frames_ready
    np.testing.assert_array_equal(s.get_frames(s.num_frames_ready, 0), np.zeros((0, 64)))


def test_pop_while_streaming_then_continue() -> None:
    s = OnlineLogMel()
    got = []
    for pos in range(0, len(SIGNAL), 300):
        s.accept_waveform(SIGNAL[pos : pos + 300])
        ready = s.num_frames_ready - s.first_frame
        got.append(s.get_frames(s.first_frame, ready))
        s.pop(ready)
    s.input_finished()
    got.append(s.get_frames(s.first_frame, s.num_frames_ready - s.first_frame))
    np.testing.assert_array_equal(np.concatenate(got), log_mel(SIGNAL, 16000))


def test_returned_frames_are_owned_copies() -> None:
    s = _stream(SIGNAL, [1000])
    a = s.get_frames(0, 4)
    keep = a.copy()
    s.pop(4)
    a[:] = 123.0
    np.testing.assert_array_equal(keep, log_mel(SIGNAL, 16000)[:4])


def test_mixed_int16_and_float_chunks() -> None:
    pcm = (SIGNAL * 32768).astype(np.int16)
    s = OnlineLogMel()
    s.accept_waveform(pcm[:1000])
    s.accept_waveform(pcm[1000:].astype(np.float64) / 32768.0)
    s.input_finished()
    np.testing.assert_array_equal(s.get_frames(0, s.num_frames_ready), log_mel(pcm, 16000))


@pytest.mark.parametrize(
    ("options", "chunk", "hop", "mels"),
    [
        (LogMelOptions(n_mels=40, hop_length=100, win_length=256, n_fft=512), 77, 100, 40),
        (LogMelOptions(hop_length=500, win_length=400, n_fft=512), 123, 500, 64),  # hop > win
    ],
)
def test_non_default_options(options: LogMelOptions, chunk: int, hop: int, mels: int) -> None:
    s = _stream(SIGNAL, [chunk], options=options)
    batch = log_mel(SIGNAL, 16000, options)
    assert batch.shape == (len(SIGNAL) // hop + 1, mels)
    np.testing.assert_array_equal(s.get_frames(0, s.num_frames_ready), batch)


# --- misuse -------------------------------------------------------------------


def test_accept_after_finished_is_runtime_error() -> None:
    s = _stream(SIGNAL, [1000])
    s.input_finished()  # idempotent
    with pytest.raises(RuntimeError, match="after input_finished"):
        s.accept_waveform(SIGNAL[:10])


@pytest.mark.parametrize(("start", "n"), [(-1, 1), (0, -1), (0, 10**9), (10**12, 0), (2**62, 2)])
def test_out_of_range_get_frames_is_index_error(start: int, n: int) -> None:
    s = _stream(SIGNAL, [1000])
    with pytest.raises(IndexError):
        s.get_frames(start, n)


def test_bad_pop_is_index_error() -> None:
    s = _stream(SIGNAL, [1000])
    with pytest.raises(IndexError, match="held"):
        s.pop(s.num_frames_ready + 1)
    with pytest.raises(IndexError):
        s.pop(-1)


@pytest.mark.parametrize(
    ("chunk", "match"),
    [
        (np.zeros((4, 2), np.float32), "1-D"),
        (np.zeros(4, np.uint8), "int16 or floating"),
        (np.array([0.1, np.nan], np.float32), "NaN or Inf"),
    ],
)
def test_bad_chunks_are_value_errors(chunk: np.ndarray, match: str) -> None:
    s = OnlineLogMel()
    with pytest.raises(ValueError, match=match):
        s.accept_waveform(chunk)
    assert s.num_samples == 0 and s.num_frames_ready == 0


def test_native_stream_misuse() -> None:
    s = _C.OnlineLogMel()
    with pytest.raises(ValueError, match="NumPy array"):
        s.accept_waveform("abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="real numeric"):
        s.accept_waveform(np.zeros(3, np.complex64))
    strided = np.arange(2000, dtype=np.float64)[::2] / 4000.0  # non-contiguous float64: cast
    s.accept_waveform(strided, 32768.0)
    assert s.num_samples == 1000
    with pytest.raises(ValueError, match="window"):
        _C.OnlineLogMel(window="rect")


def test_concurrent_use_does_not_crash() -> None:
    s = OnlineLogMel()
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            for _ in range(50):
                s.accept_waveform(SIGNAL[:160])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=feed) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert s.num_frames_ready == (2 * 50 * 160 - 400) // 160 + 1
