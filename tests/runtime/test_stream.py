"""Streaming: incremental VAD equals the published one; result() equals predict()."""

from __future__ import annotations

import numpy as np
import pytest

from cmp_edge.errors import AudioError, NoSpeechError
from tests.runtime.helpers import synthetic_voice


def _chunks(x: np.ndarray, size: int):  # noqa: ANN202
    for start in range(0, x.shape[0], size):
        yield x[start : start + size]


@pytest.mark.parametrize("chunk", [1, 319, 320, 321, 1600, 7777])
def test_streaming_vad_equals_remove_silence(speech, chunk: int) -> None:  # noqa: ANN001
    from cmp_edge.audio.vad import StreamingVad, remove_silence

    x = speech[0][: 16000 * 3] if chunk < 100 else speech[0]
    vad = StreamingVad()
    got = [b for c in _chunks(x, chunk) for b in vad.accept(c)]
    vad.finish()
    out = np.concatenate(got) if got else np.zeros(0, np.float32)
    np.testing.assert_array_equal(out, remove_silence(x))


def test_streaming_vad_exact_frame_boundary() -> None:
    from cmp_edge.audio.vad import StreamingVad, remove_silence

    x = synthetic_voice(1.0)[: 320 * 40]  # ends exactly at a frame boundary
    vad = StreamingVad()
    got = np.concatenate([b for c in _chunks(x, 320) for b in vad.accept(c)])
    vad.finish()
    np.testing.assert_array_equal(got, remove_silence(x))
    with pytest.raises(RuntimeError):
        vad.accept(x[:10])


@pytest.mark.parametrize("chunk", [1600, 4000, 12345])
def test_stream_result_equals_predict(rec, speech, chunk: int) -> None:  # noqa: ANN001
    x, sr = speech
    stream = rec.create_stream()
    assert stream.current() is None
    seen = []
    for c in _chunks(x, chunk):
        stream.accept_waveform(sr, c)
        face = stream.current()
        if face is not None:
            seen.append(face)
    stream.input_finished()
    final = stream.result()
    expected = rec.predict(x, sr)
    np.testing.assert_allclose(final.whitened, expected.whitened, atol=1e-4)
    np.testing.assert_allclose(final.vertices, expected.vertices, rtol=1e-4, atol=1e-2)
    assert seen, "a provisional estimate appears after about a second of speech"
    assert stream.voiced_s == pytest.approx(expected.voiced_s)
    assert stream.current() is final
    assert stream.result() is final
    with pytest.raises(RuntimeError):
        stream.accept_waveform(sr, x[:100])


def test_stream_refresh_schedule(rec) -> None:  # noqa: ANN001
    x = synthetic_voice(4.0)
    stream = rec.create_stream(min_speech_s=1.0, refresh_s=1.0)
    faces = []
    for c in _chunks(x, 800):
        stream.accept_waveform(16000, c)
        faces.append(stream.current())
    distinct = {id(f) for f in faces if f is not None}
    first = next(k for k, f in enumerate(faces) if f is not None)
    assert 0.9 <= (first + 1) * 800 / 16000 <= 1.6
    assert 2 <= len(distinct) <= 4  # refreshed about once per voiced second


def test_stream_other_rate_exact(rec) -> None:  # noqa: ANN001
    x = synthetic_voice(2.5, sr=44100)
    stream = rec.create_stream()
    for c in _chunks(x, 4410):
        stream.accept_waveform(44100, c)
    assert stream.current() is not None
    stream.input_finished()
    # Independent reference (result() itself re-runs predict): polyphase resampling to
    # 16 kHz, the published VAD loop, NumPy log-mel, normalisation and padding.
    from scipy.signal import resample_poly

    from tests.runtime import reference as ref

    voiced = ref.vad_published(resample_poly(x, 160, 441).astype(np.float32))
    feats = ref.repeat_pad(ref.normalize(ref.features_vectorised(voiced)), rec.pad_to)
    expected = rec.run_model(feats.astype(np.float32))
    result = stream.result()
    np.testing.assert_allclose(result.whitened, expected, atol=1e-4)
    assert result.voiced_s == pytest.approx(voiced.shape[0] / 16000)
    with pytest.raises(AudioError, match="sample rate changed"):
        s2 = rec.create_stream()
        s2.accept_waveform(44100, x[:100])
        s2.accept_waveform(16000, x[:100])


def test_stream_errors(rec) -> None:  # noqa: ANN001
    stream = rec.create_stream()
    with pytest.raises(RuntimeError, match="input_finished"):
        stream.result()
    stream.accept_waveform(16000, np.zeros(16000, np.float32))
    stream.input_finished()
    assert stream.current() is None
    with pytest.raises(NoSpeechError):
        stream.result()
    empty = rec.create_stream()
    empty.input_finished()
    with pytest.raises(AudioError):
        empty.result()


def test_without_vad_all_audio_is_used(bundle) -> None:  # noqa: ANN001
    from cmp_edge.runtime.reconstructor import Reconstructor

    x = np.concatenate([np.zeros(16000, np.float32), synthetic_voice(2.0, seed=3)])
    with_vad = Reconstructor(bundle, threads=1)
    no_vad = Reconstructor(bundle, threads=1, vad=False)
    assert with_vad.predict(x, 16000).voiced_s < 2.5
    face = no_vad.predict(x, 16000)
    assert face.voiced_s == pytest.approx(face.duration_s) == pytest.approx(3.0)
    stream = no_vad.create_stream()
    for c in _chunks(x, 1234):
        stream.accept_waveform(16000, c)
    stream.input_finished()
    assert stream.voiced_s == pytest.approx(3.0)
    np.testing.assert_allclose(stream.result().whitened, face.whitened, atol=1e-4)
    with pytest.raises(NoSpeechError, match="vad=False does not help") as info:
        with_vad.predict(np.zeros(32000, np.float32), 16000)
    assert "--no-vad" not in str(info.value)  # the API speaks API
