"""First checks of the public frontend API (details in the other test files)."""

from __future__ import annotations

import numpy as np

from cmp_edge.features import LogMelOptions, OnlineLogMel, cmp_features, log_mel
from tests.frontend.reference import reference_log_mel


def test_log_mel_matches_reference_on_noise() -> None:
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32)
    out = log_mel(x, 16000)
    assert out.shape == (101, 64) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference_log_mel(x.astype(np.float64) * 32768), atol=1e-3)


def test_streaming_equals_batch_simple() -> None:
    x = np.random.default_rng(1).uniform(-0.5, 0.5, 5000).astype(np.float32)
    stream = OnlineLogMel(LogMelOptions.preset("cmp"))
    for i in range(0, len(x), 333):
        stream.accept_waveform(x[i : i + 333])
    stream.input_finished()
    frames = stream.get_frames(0, stream.num_frames_ready)
    np.testing.assert_array_equal(frames, log_mel(x, 16000))


def test_cmp_features_without_vad_is_padded_and_normalised() -> None:
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 48000).astype(np.float32)
    f = cmp_features(x, 16000, vad=False)
    assert f.shape == (1000, 64)
    np.testing.assert_allclose(f[:301].mean(axis=0), 0.0, atol=1e-4)
