"""CMP-exact VAD (spec section 2): call sequence, segmentation, all-silence error."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
import webrtcvad

from cmp_edge.audio import load, resample, to_int16, vad
from cmp_edge.errors import AudioError, NoSpeechError
from tests.frontend.signals import synthetic


def _spec_collector(pcm: np.ndarray) -> list[bytes]:
    """The published loop as the spec describes it, on bytes (independent of cmp_edge.audio.vad)."""
    audio = pcm.astype("<i2").tobytes()
    n = 640  # bytes per 20 ms frame
    frames = []
    offset = 0
    while offset + n < len(audio):
        frames.append(audio[offset : offset + n])
        offset += n
    detector = webrtcvad.Vad(2)
    ring: collections.deque[bytes] = collections.deque(maxlen=2)
    triggered = False
    voiced: list[bytes] = []
    out = []
    for frame in frames:
        if not triggered:
            ring.append(frame)
            num_voiced = len([f for f in ring if detector.is_speech(f, 16000)])
            if num_voiced > 0.9 * ring.maxlen:
                triggered = True
                voiced.extend(ring)
                ring.clear()
        else:
            voiced.append(frame)
            ring.append(frame)
            num_unvoiced = len([f for f in ring if not detector.is_speech(f, 16000)])
            if num_unvoiced > 0.9 * ring.maxlen:
                triggered = False
                out.append(b"".join(voiced))
                ring.clear()
                voiced = []
    if voiced:
        out.append(b"".join(voiced))
    return out


def _speech_files(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "speech").rglob("*.flac"))
    files += sorted((shared_data / "speech").rglob("*.ogg"))
    assert files, "no speech files in shared data"
    return files


def test_matches_the_published_loop_on_real_speech(shared_data: Path) -> None:
    for path in _speech_files(shared_data)[:8]:
        x, sr = load(path)
        x16 = resample(x, sr, 16000)
        pcm = to_int16(x16)
        expected = b"".join(_spec_collector(pcm))
        got = to_int16(vad.remove_silence(x16)).astype("<i2").tobytes()
        assert got == expected, path.name
        assert 0 < len(got) < 2 * len(pcm)


def test_matches_the_published_loop_on_synthetic_bursts() -> None:
    x = synthetic("speechlike", 16000 * 6, seed=1)
    pcm = to_int16(x)
    segs = vad.vad_segments(pcm)
    assert len(segs) >= 2
    expected = b"".join(_spec_collector(pcm))
    got = b"".join(pcm[a:b].astype("<i2").tobytes() for a, b in segs)
    assert got == expected


class _FakeVad:
    """Records is_speech calls; frames whose first sample is > 0 are 'voiced'."""

    calls: list[int] = []
    instances = 0

    def __init__(self, mode: int) -> None:
        assert mode == 2
        type(self).instances += 1

    def is_speech(self, buf: bytes, rate: int) -> bool:
        assert rate == 16000 and len(buf) == 640
        first = int(np.frombuffer(buf[:2], "<i2")[0])
        type(self).calls.append(abs(first))
        return first > 0


def _tagged(labels: list[int], tail: int = 0) -> np.ndarray:
    """Frames tagged with their index in sample 0 (sign = voiced), plus tail samples."""
    pcm = np.zeros(320 * len(labels) + tail, np.int16)
    for j, v in enumerate(labels):
        pcm[320 * j] = (j + 1) * (1 if v else -1)
    return pcm


def test_call_sequence_ring_order_and_strict_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webrtcvad, "Vad", _FakeVad)
    _FakeVad.calls = []
    _FakeVad.instances = 0
    labels = [0, 1, 1, 1, 0, 0, 1, 1]
    # exactly 8 frames long: the 8th frame ends at the signal's end and is dropped
    segs = vad.vad_segments(_tagged(labels))
    assert _FakeVad.instances == 1
    # not triggered: ring [0] -> (1); ring [0,1] -> (1,2); ring [1,2] -> (2,3): trigger
    # triggered after clear: ring [3] -> (4); ring [3,4] -> (4,5); ring [4,5] -> (5,6): close
    # not triggered: ring [6] -> (7)
    assert _FakeVad.calls == [1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7]
    assert segs == [(320, 6 * 320)]
    # one more sample: the 8th frame is used and the open segment closes at the end
    _FakeVad.calls = []
    segs = vad.vad_segments(_tagged(labels, tail=1))
    assert _FakeVad.calls[-2:] == [7, 8]
    assert segs == [(320, 6 * 320), (6 * 320, 8 * 320)]


def test_all_silence_raises_no_speech_error() -> None:
    with pytest.raises(NoSpeechError, match="no speech found in 2.00 s") as info:
        vad.remove_silence(np.zeros(32000, np.float32))
    assert isinstance(info.value, AudioError) and "vad=False" in str(info.value)


def test_too_short_for_the_ring_is_no_speech() -> None:
    assert vad.vad_segments(np.zeros(0, np.int16)) == []
    with pytest.raises(NoSpeechError):
        vad.remove_silence(synthetic("speechlike", 640))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="1-D"):
        vad.vad_segments(np.zeros((2, 320)))
    with pytest.raises(ValueError, match="NaN"):
        vad.vad_segments(np.array([np.nan] * 1000))
    with pytest.raises(ValueError, match="int16 or float"):
        vad.vad_segments(np.zeros(1000, np.int64))
