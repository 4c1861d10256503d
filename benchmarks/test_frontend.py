"""Speech frontend speed, 10 s of 16 kHz speech, against the alternatives in the same run.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/test_frontend.py
--benchmark-only``. Groups print side by side:

- ``log_mel 10s``: cmp_edge (1 thread; float64 default and float32 kernels), the
  vectorised NumPy reference, the published per-frame NumPy loop, librosa
  melspectrogram + log, python_speech_features logfbank, kaldi-native-fbank (64 bins);
- ``stream 10s``: OnlineLogMel fed in 10 ms and 100 ms chunks (total; per chunk in
  extra_info) versus one batch call;
- ``pipeline 10s``: cmp_features end to end (VAD included), VAD alone, resampling.

The speech is the 16 kHz LibriSpeech excerpts from ../shared concatenated to 10 s;
without ../shared a synthetic speech-like signal is used instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from cmp_edge import _C
from cmp_edge.audio import load, resample
from cmp_edge.audio.vad import remove_silence
from cmp_edge.features import OnlineLogMel, cmp_features, log_mel
from tests.conftest import shared_root
from tests.frontend.reference import per_frame_log_mel, reference_log_mel
from tests.frontend.signals import synthetic

N = 160000  # 10 s at 16 kHz


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """10 s of 16 kHz float32 speech in [-1, 1)."""
    root = shared_root()
    if root is None:
        return synthetic("speechlike", N).astype(np.float32)
    parts = []
    for path in sorted((root / "data" / "speech").rglob("*.flac")):
        x, sr = load(path)
        assert sr == 16000
        parts.append(x)
        if sum(len(p) for p in parts) >= N:
            break
    return np.concatenate(parts)[:N]


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


# --- log-mel, 10 s ------------------------------------------------------------------


@pytest.mark.benchmark(group="log_mel 10s")
def test_cmp_edge_log_mel(benchmark, speech: np.ndarray) -> None:
    out = benchmark(log_mel, speech, 16000)
    assert out.shape == (1001, 64)


@pytest.mark.benchmark(group="log_mel 10s")
def test_cmp_edge_float32_kernel(benchmark, speech: np.ndarray) -> None:
    plan = _C.LogMel(precision="float32")
    out = benchmark(plan.compute, speech, 32768.0, 1)
    assert out.shape == (1001, 64)


@pytest.mark.benchmark(group="log_mel 10s")
def test_numpy_vectorised_reference(benchmark, speech: np.ndarray, single_thread: None) -> None:
    x = speech.astype(np.float64) * 32768.0
    out = benchmark(reference_log_mel, x)
    assert out.shape == (1001, 64)


@pytest.mark.benchmark(group="log_mel 10s")
def test_numpy_per_frame_loop(benchmark, speech: np.ndarray, single_thread: None) -> None:
    x = speech.astype(np.float64) * 32768.0
    out = benchmark.pedantic(per_frame_log_mel, args=(x,), rounds=5, iterations=1)
    assert out.shape == (1001, 64)


@pytest.mark.benchmark(group="log_mel 10s")
def test_librosa_melspectrogram_log(benchmark, speech: np.ndarray, single_thread: None) -> None:
    librosa = pytest.importorskip("librosa")
    x = speech * np.float32(32768.0)

    def run() -> np.ndarray:
        s = librosa.feature.melspectrogram(
            y=x,
            sr=16000,
            n_fft=1024,
            hop_length=160,
            win_length=400,
            window="hamming",
            n_mels=64,
            fmin=20.0,
            fmax=7200.0,
            power=2.0,
        )
        return np.log(np.maximum(s, 1e-5))

    out = benchmark(run)
    assert out.shape[0] == 64


@pytest.mark.benchmark(group="log_mel 10s")
def test_python_speech_features_logfbank(
    benchmark, speech: np.ndarray, single_thread: None
) -> None:
    psf = pytest.importorskip("python_speech_features")
    x = speech * np.float32(32768.0)
    out = benchmark(
        psf.logfbank,
        x,
        samplerate=16000,
        winlen=0.025,
        winstep=0.01,
        nfilt=64,
        nfft=1024,
        lowfreq=20,
        highfreq=7200,
        preemph=0.97,
    )
    assert out.shape[1] == 64


@pytest.mark.benchmark(group="log_mel 10s")
def test_kaldi_native_fbank(benchmark, speech: np.ndarray) -> None:
    knf = pytest.importorskip("kaldi_native_fbank")
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = 16000
    opts.mel_opts.num_bins = 64
    x = speech * np.float32(32768.0)

    def run() -> np.ndarray:
        fbank = knf.OnlineFbank(opts)
        fbank.accept_waveform(16000, x)
        fbank.input_finished()
        return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])

    out = benchmark(run)
    assert out.shape[1] == 64


# --- streaming ------------------------------------------------------------------------


def _stream(x: np.ndarray, chunk: int) -> np.ndarray:
    s = OnlineLogMel()
    for pos in range(0, len(x), chunk):
        s.accept_waveform(x[pos : pos + chunk])
    s.input_finished()
    return s.get_frames(0, s.num_frames_ready)


@pytest.mark.benchmark(group="stream 10s")
@pytest.mark.parametrize("chunk_ms", [10, 100])
def test_stream_chunks(benchmark, speech: np.ndarray, chunk_ms: int) -> None:
    chunk = 16 * chunk_ms
    out = benchmark(_stream, speech, chunk)
    benchmark.extra_info["chunks"] = len(speech) // chunk
    benchmark.extra_info["per_chunk_us"] = benchmark.stats.stats.median / (N // chunk) * 1e6
    np.testing.assert_array_equal(out, log_mel(speech, 16000))


@pytest.mark.benchmark(group="stream 10s")
def test_stream_batch_reference(benchmark, speech: np.ndarray) -> None:
    out = benchmark(log_mel, speech, 16000)
    assert out.shape == (1001, 64)


# --- pipeline ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="pipeline 10s")
def test_cmp_features_end_to_end(benchmark, speech: np.ndarray) -> None:
    out = benchmark(cmp_features, speech, 16000)
    assert out.shape[1] == 64 and out.shape[0] >= 1000


@pytest.mark.benchmark(group="pipeline 10s")
def test_vad_only(benchmark, speech: np.ndarray) -> None:
    out = benchmark(remove_silence, speech)
    assert 0 < len(out) <= len(speech)


@pytest.mark.benchmark(group="pipeline 10s")
def test_resample_22050_to_16000(benchmark, speech: np.ndarray) -> None:
    x22 = resample(speech, 16000, 22050)
    out = benchmark(resample, x22, 22050, 16000)
    assert abs(len(out) - N) <= 1
