"""The compiled VAD loop (cmp_edge.audio.vad_native) makes the published decisions bit for bit.

Three references: the Python loop of StreamingVad (same call sequence, Python
per frame), the spec's loop on bytes (tests/frontend/test_vad.py, independent of
cmp_edge), and the detector's state afterwards (probed by further calls).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import webrtcvad

from cmp_edge import _native
from cmp_edge.audio import load, resample, to_int16, vad
from tests.frontend.signals import synthetic
from tests.frontend.test_vad import _spec_collector

SIGNALS = ["speechlike", "tone_low", "tone_1k", "tone_7k", "tone_quiet", "noise", "silence"]
SIGNALS += ["clipped", "dc", "chirp"]


def _run(x: np.ndarray, native: bool, chunks: list[int] | None = None) -> vad.StreamingVad:
    v = vad.StreamingVad(native=native)
    assert v.native is native
    blocks: list[np.ndarray] = []
    if chunks is None:
        blocks += v.accept(x)
    else:
        pos = 0
        for c in chunks:
            blocks += v.accept(x[pos : pos + c])
            pos += c
        blocks += v.accept(x[pos:])
    v.finish()
    v.voiced = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)  # type: ignore[attr-defined]
    return v


def _assert_same(x: np.ndarray, chunks: list[int] | None = None) -> vad.StreamingVad:
    py = _run(x, native=False)
    nat = _run(x, native=True, chunks=chunks)
    assert nat.segments == py.segments
    assert nat.frames_seen == py.frames_seen
    assert np.array_equal(nat.voiced, py.voiced)  # type: ignore[attr-defined]
    return nat


def test_native_loop_is_available() -> None:
    # the shipped webrtcvad-wheels exports WebRtcVad_Process: the fast path must be in use
    assert vad.StreamingVad().native


def test_real_speech_whole_and_chunked(shared_data: Path) -> None:
    rng = np.random.default_rng(0)
    files = sorted((shared_data / "speech").rglob("*.flac")) + sorted(
        (shared_data / "speech").rglob("*.ogg")
    )
    assert files
    total_segments = 0
    for path in files:
        x, sr = load(path)
        x16 = np.asarray(resample(x, sr, 16000), np.float32)
        nat = _assert_same(x16)
        total_segments += len(nat.segments)
        chunks = list(rng.integers(1, 4000, size=20))
        _assert_same(x16, chunks=[int(c) for c in chunks])
        # the independent spec loop on bytes
        expected = b"".join(_spec_collector(to_int16(x16)))
        assert to_int16(nat.voiced).astype("<i2").tobytes() == expected, path.name  # type: ignore[attr-defined]
    assert total_segments > len(files)  # real cuts were exercised, not only all-voiced files


@pytest.mark.parametrize("name", SIGNALS)
def test_synthetic_signals(name: str) -> None:
    for seed in range(3):
        x = np.asarray(synthetic(name, 16000 * 3 + 17 * seed, seed=seed), np.float32)
        _assert_same(x)
        _assert_same(x, chunks=[320, 1, 639, 641, 5000])


def test_int16_conversion_edges() -> None:
    # rounding halves to even, full scale, clipping: the native conversion equals to_int16
    rng = np.random.default_rng(3)
    base = np.asarray(synthetic("speechlike", 16000 * 2, seed=4), np.float32)
    halves = (rng.integers(-32768, 32767, base.shape[0]) + 0.5) / 32768.0
    edges = np.array([1.0, -1.0, 32767.5 / 32768, -32768.5 / 32768, 2.0, -2.0], np.float32)
    for x in (base + np.float32(0.3) * halves.astype(np.float32), np.tile(edges, 6000)):
        x = np.asarray(x, np.float32)
        _assert_same(x)
        nat = _run(x, native=True)
        expected = b"".join(_spec_collector(to_int16(x)))
        assert to_int16(nat.voiced).astype("<i2").tobytes() == expected  # type: ignore[attr-defined]


def test_detector_state_matches_after_the_loop() -> None:
    # Same call sequence -> same internal state: further calls on both instances agree.
    x = np.asarray(synthetic("speechlike", 16000 * 4, seed=7), np.float32)
    probe = to_int16(np.asarray(synthetic("speechlike", 16000 * 4, seed=8), np.float32))
    answers = []
    for native in (False, True):
        v = _run(x, native=native)
        step = range(0, probe.size - 320, 160)
        answers.append([v._vad.is_speech(probe[i : i + 320].tobytes(), 16000) for i in step])
    assert answers[0] == answers[1]
    assert 0 < sum(answers[0]) < len(answers[0])


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMP_EDGE_VAD_NATIVE", "0")
    assert not vad.StreamingVad().native
    x = np.asarray(synthetic("speechlike", 16000 * 2, seed=1), np.float32)
    python_loop = vad.remove_silence(x)
    monkeypatch.delenv("CMP_EDGE_VAD_NATIVE")
    assert np.array_equal(python_loop, _run(x, native=True).voiced)  # type: ignore[attr-defined]


def test_bad_arguments() -> None:
    import _webrtcvad

    c = _native.ext()
    import datetime

    with pytest.raises(ValueError, match="capsule"):  # a capsule of another kind
        c.VadLoop(datetime.datetime_CAPI, _webrtcvad.__file__)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="not loaded"):
        c.VadLoop(webrtcvad.Vad(2)._vad, "/nonexistent/_webrtcvad.so")
    loop = c.VadLoop(webrtcvad.Vad(2)._vad, _webrtcvad.__file__)
    with pytest.raises(ValueError, match="n_frames"):
        loop.accept(np.zeros(640, np.float32), 3)
    assert loop.accept(np.zeros(640, np.float32), 2) == ([], [])
    assert loop.frames_seen == 2 and not loop.triggered
