"""The overlapped VAD + log-mel (runtime/frontend.py) equals the stages run one after the other."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.audio import load, resample
from cmp_edge.audio.vad import remove_silence
from cmp_edge.errors import NoSpeechError
from cmp_edge.features.logmel import log_mel
from cmp_edge.runtime.frontend import CHUNK, voiced_log_mel
from tests.frontend.signals import synthetic


@pytest.fixture(scope="module")
def executor():  # noqa: ANN201
    with ThreadPoolExecutor(2) as pool:
        yield pool


def _expected(x: np.ndarray) -> np.ndarray:
    return log_mel(remove_silence(x), 16000)


def test_real_speech(shared_data: Path, executor: ThreadPoolExecutor) -> None:
    files = sorted((shared_data / "speech").rglob("*.flac"))[:6]
    assert files
    for path in files:
        x, sr = load(path)
        x16 = np.asarray(resample(x, sr, 16000), np.float32)
        assert x16.shape[0] >= 2 * CHUNK  # the pipelined path is taken
        got = voiced_log_mel(x16, executor=executor)
        expected = _expected(x16)
        assert got.logmel is not None
        assert np.array_equal(got.logmel, expected), path.name
        assert got.voiced_samples == remove_silence(x16).shape[0]
        assert 0 <= got.vad_ms <= got.total_ms


@pytest.mark.parametrize("seconds", [2.0, 3.37, 9.99, 25.0])
def test_synthetic_lengths(seconds: float, executor: ThreadPoolExecutor) -> None:
    x = np.asarray(synthetic("speechlike", int(16000 * seconds), seed=2), np.float32)
    got = voiced_log_mel(x, executor=executor)
    sequential = voiced_log_mel(x)
    assert got.logmel is not None and sequential.logmel is not None
    np.testing.assert_array_equal(got.logmel, _expected(x))
    np.testing.assert_array_equal(sequential.logmel, got.logmel)
    assert got.voiced_samples == sequential.voiced_samples


def test_silence_and_no_vad(executor: ThreadPoolExecutor) -> None:
    silence = np.zeros(16000 * 5, np.float32)
    with pytest.raises(NoSpeechError):
        remove_silence(silence)
    for ex in (executor, None):
        got = voiced_log_mel(silence, executor=ex)
        assert got.logmel is None and got.voiced_samples == 0
    x = np.asarray(synthetic("speechlike", 16000 * 3, seed=5), np.float32)
    got = voiced_log_mel(x, vad=False, executor=executor)
    assert got.voiced_samples == x.shape[0]
    np.testing.assert_array_equal(got.logmel, log_mel(x, 16000))


def test_reconstructor_one_and_two_threads_agree(bundle: Path, speech) -> None:  # noqa: ANN001
    from cmp_edge.runtime.reconstructor import Reconstructor

    x, sr = speech
    one = Reconstructor(bundle, threads=1).predict(x, sr)
    two = Reconstructor(bundle, threads=2, overlap=True).predict(x, sr)
    assert one.voiced_s == two.voiced_s
    np.testing.assert_allclose(two.whitened, one.whitened, atol=1e-5)
    assert {"vad", "features", "model", "reconstruct"} <= set(two.timings)
    assert Reconstructor(bundle, threads=2)._executor is None  # off by default
    assert Reconstructor(bundle, threads=1, overlap=True)._executor is None


_FORKED: dict[str, object] = {}


def _predict_in_child() -> list[float]:
    rec, voice = _FORKED["rec"], _FORKED["voice"]
    return [float(v) for v in rec.predict(voice, 16000).whitened]  # type: ignore[attr-defined]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_wait_for_the_parents_worker(bundle: Path, voice16k) -> None:  # noqa: ANN001
    """A child forked after a prediction has the executor but not its thread: no overlap there."""
    import multiprocessing

    from cmp_edge.runtime.reconstructor import Reconstructor

    rec = Reconstructor(bundle, threads=2, overlap=True)
    assert rec._executor is not None
    expected = rec.predict(voice16k, 16000).whitened  # the worker thread exists now
    _FORKED.update(rec=rec, voice=voice16k)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_predict_in_child).get(timeout=300)
    np.testing.assert_allclose(got, expected, atol=1e-5)
