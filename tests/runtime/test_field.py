"""Issue 11 end to end: field recordings give a mesh (with a warning where unusual) or a
one-line error; batch accounts for every file; no mesh from nothing; bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cmp_edge.errors import AudioError, NoSpeechError
from tests.runtime.helpers import synthetic_voice
from tests.runtime.test_cli import assert_one_line_error, run

# field file -> a phrase its warning must hold (None: no warning expected)
EXPECTED = {
    "reference_16k_pcm16.wav": None,
    "vox2_aac_16k.m4a": None,
    "browser_mediarecorder.webm": None,
    "voice_memo_ogg.opus": None,
    "telephone_8k_mulaw.wav": "narrowband",
    "quiet_peak_-40dBFS.wav": "low level",
    "dc_offset_0.05.wav": "DC offset",
    "clipped_hot_+24dB.wav": "clipping",
    "stereo_antiphase.wav": "cancel",
}


def _predict(rec, path: Path):  # noqa: ANN001, ANN202
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        face = rec.predict_file(path)
    return face, [str(w.message) for w in caught]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_field_recordings_give_a_mesh_and_the_right_warning(
    rec, shared_data: Path, name: str
) -> None:  # noqa: ANN001
    face, messages = _predict(rec, shared_data / "field" / name)
    assert face.vertices.shape[0] > 0 and face.voiced_s > 2.0
    q = face.quality
    assert q is not None and q.duration_s == pytest.approx(8.94, abs=0.05)
    phrase = EXPECTED[name]
    if phrase is None:
        assert messages == [] and q.issues() == []
    else:
        assert len(messages) == 1 and phrase in messages[0], messages
        assert messages[0].count("\n") == 0


def test_antiphase_stereo_uses_one_channel_and_equals_the_reference(rec, shared_data: Path) -> None:  # noqa: ANN001
    ref, _ = _predict(rec, shared_data / "field" / "reference_16k_pcm16.wav")
    face, _ = _predict(rec, shared_data / "field" / "stereo_antiphase.wav")
    assert face.quality.channel_used == "0" and face.quality.mix_cancellation_db > 40
    np.testing.assert_array_equal(face.whitened, ref.whitened)


def test_cancelling_mix_fails_cleanly_with_a_channel_hint(bundle: Path, tmp_path: Path) -> None:
    v = synthetic_voice(2.0)
    path = tmp_path / "anti.wav"
    sf.write(str(path), np.stack([v, -v], axis=1), 16000, subtype="FLOAT")
    for extra in ((), ("--no-vad",)):
        code, _, err = run(
            "infer", path, "-o", tmp_path / "a.json", "--model", bundle, "--channel", "mix", *extra
        )
        assert_one_line_error(code, err, "no voiced speech", "--channel")
    code, _, err = run(
        "infer", path, "-o", tmp_path / "b.json", "--model", bundle, "--channel", "right"
    )
    assert code == 0, err
    meta = json.loads((tmp_path / "b.json").read_text())["metadata"]
    assert meta["input_quality"]["channel_used"] == "1"


@pytest.mark.parametrize("vad", [True, False])
@pytest.mark.parametrize("residue", ["silence", "one_lsb"])
def test_never_a_mesh_from_nothing(bundle: Path, tmp_path: Path, vad: bool, residue: str) -> None:
    from cmp_edge.runtime.reconstructor import Reconstructor

    x = np.zeros(16000 * 10, np.float32)
    if residue == "one_lsb":
        x[::3] = 1.0 / 32768.0  # a 1-LSB residue (dither, DC of a dead input)
    rec = Reconstructor(bundle, threads=1, vad=vad)
    with pytest.raises(NoSpeechError, match="no voiced speech"):
        rec.predict(x, 16000)
    stream = rec.create_stream()
    stream.accept_waveform(16000, x)
    stream.input_finished()
    assert stream.current() is None
    with pytest.raises(NoSpeechError):
        stream.result()
    path = tmp_path / "nothing.wav"
    sf.write(str(path), x, 16000, subtype="PCM_16")
    args = ["infer", path, "-o", tmp_path / "a.ply", "--model", bundle]
    code, _, err = run(*args, *(() if vad else ("--no-vad",)))
    assert_one_line_error(code, err, "no voiced speech")
    assert not (tmp_path / "a.ply").exists()


def test_channel_index_checks(bundle: Path) -> None:
    from cmp_edge.runtime.reconstructor import Reconstructor

    v = synthetic_voice(2.0, seed=11)
    right = Reconstructor(bundle, threads=1, channel="right")
    mono = Reconstructor(bundle, threads=1)
    np.testing.assert_array_equal(right.predict(v, 16000).whitened, mono.predict(v, 16000).whitened)
    stereo = np.stack([v, 0.5 * v], axis=1)
    face = right.predict(stereo, 16000, source="two.wav")
    assert face.quality.channel_used == "1"
    with pytest.raises(AudioError, match=r"two.wav: channel 4 does not exist.*2 channels"):
        Reconstructor(bundle, threads=1, channel=4).predict(stereo, 16000, source="two.wav")


def test_channel_first_arrays_equal_mono(rec) -> None:  # noqa: ANN001
    v = synthetic_voice(2.0, seed=2)
    a = rec.predict(v, 16000)
    b = rec.predict(v[None, :], 16000)  # torchaudio's (1, n)
    np.testing.assert_array_equal(a.whitened, b.whitened)
    with pytest.raises(AudioError, match=r"shape \(3, 3\)"):
        rec.predict(np.zeros((3, 3), np.float32), 16000)


def test_bytes_and_files_give_the_same_face(rec, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "v.flac"
    sf.write(str(path), synthetic_voice(2.0, seed=4), 16000)
    a = rec.predict_file(path)
    b = rec.predict_bytes(path.read_bytes(), name="upload.flac")
    np.testing.assert_array_equal(a.whitened, b.whitened)
    assert b.source == "upload.flac" and b.quality is not None


def test_conditioning_is_off_by_default_and_restores_quiet_audio(bundle: Path) -> None:
    from cmp_edge.runtime.reconstructor import Reconstructor

    v = synthetic_voice(3.0, seed=7)
    quiet = v * np.float32(10 ** (-40 / 20) / np.abs(v).max())
    plain = Reconstructor(bundle, threads=1)
    levelled = Reconstructor(bundle, threads=1, condition="level")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = plain.predict(quiet, 16000)
        b = levelled.predict(quiet, 16000)
    assert a.quality.conditioning == {} and "low level" in str(caught[0].message)
    assert b.quality.conditioning["gain_db"] == pytest.approx(34.0, abs=0.01)
    assert len(caught) == 1  # the conditioned run does not warn about the level it fixed
    ref = plain.predict(v * np.float32(0.5 / np.abs(v).max()), 16000)
    np.testing.assert_allclose(b.whitened, ref.whitened, atol=1e-3)
    dc = Reconstructor(bundle, threads=1, condition="dc").predict(v + np.float32(0.05), 16000)
    assert dc.quality.conditioning["dc_removed"] == pytest.approx(0.05 + float(v.mean()), abs=1e-4)
    with pytest.raises(AudioError, match="conditioning"):
        Reconstructor(bundle, threads=1, condition="louder")


def test_stream_reads_48k_files_in_chunks_and_equals_predict(rec, tmp_path: Path) -> None:  # noqa: ANN001
    from cmp_edge.audio import resample

    x = resample(synthetic_voice(3.0, seed=8), 16000, 48000)
    path = tmp_path / "v48.wav"
    sf.write(str(path), x, 48000, subtype="FLOAT")
    stream = rec.create_stream()
    for i in range(0, x.size, 4801):
        stream.accept_waveform(48000, x[i : i + 4801])
    stream.input_finished()
    face = stream.result()
    direct = rec.predict_file(path)
    np.testing.assert_array_equal(face.whitened, direct.whitened)
    assert face.quality.sample_rate == 48000
    assert face.quality.peak_dbfs == pytest.approx(direct.quality.peak_dbfs, abs=1e-6)
    assert face.quality.bandwidth_hz == direct.quality.bandwidth_hz


def _latin1(tmp_path: Path, stem: bytes) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), stem)))


def test_batch_accounts_for_every_file_with_any_name(bundle: Path, tmp_path: Path) -> None:
    import av  # noqa: F401  (PyAV decodes the .m4a and .webm files)

    from tests.field.media import encode

    src = tmp_path / "in"
    src.mkdir()
    v = synthetic_voice(2.0, seed=9)
    sf.write(str(src / "plain.wav"), v, 16000, subtype="PCM_16")
    with open(os.fsencode(_latin1(src, b"caf\xe9 ok.wav")), "wb") as handle:
        sf.write(handle, v, 16000, subtype="PCM_16", format="WAV")
    (src / "memo.opus").write_bytes(encode(v, 16000, "ogg", "libopus", 48000))
    (src / "vox.m4a").write_bytes(encode(v, 16000, "ipod", "aac"))
    (src / "no_suffix").write_bytes(encode(v, 16000, "webm", "libopus", 48000))
    (src / "broken.m4a").write_bytes(b"not really audio" * 100)
    (src / "notes.txt").write_text("not audio, not counted\n")
    cmd = [sys.executable, "-m", "cmp_edge", "batch", str(src), "-o", str(tmp_path / "out")]
    cmd += ["--model", str(bundle)]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "5 written, 0 skipped, 1 failed" in proc.stdout.decode()
    rows = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(rows) == 6 and "internal error" not in err
    status = {Path(r["input"]).name: r["status"] for r in rows}
    assert status["broken.m4a"] == "failed" and status["caf\\xe9 ok.wav"] == "ok"
    assert {r["status"] for r in rows if "broken" not in r["input"]} == {"ok"}
    assert all("peak_dbfs" in r for r in rows if r["status"] == "ok")
    again = subprocess.run(cmd, capture_output=True, env=env, check=False)
    assert "0 written, 5 skipped, 1 failed" in again.stdout.decode()


def test_infer_latin1_name_with_a_real_stdout(bundle: Path, tmp_path: Path) -> None:
    path = _latin1(tmp_path, b"voix \xe9t\xe9.wav")
    with open(os.fsencode(path), "wb") as handle:
        sf.write(handle, synthetic_voice(2.0), 16000, subtype="PCM_16", format="WAV")
    out = _latin1(tmp_path, b"visage \xe9.ply")
    proc = subprocess.run(
        [sys.executable, "-m", "cmp_edge", "infer", os.fsencode(path), "-o", os.fsencode(out)]
        + ["--model", str(bundle), "--params-json", str(tmp_path / "p.json")],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert os.path.exists(os.fsencode(out))
    assert b"\\xe9" in proc.stdout
    quality = json.loads((tmp_path / "p.json").read_text())["metadata"]["input_quality"]
    assert quality["peak_dbfs"] < 0 and quality["issues"] == []


@pytest.mark.slow
def test_long_sparse_audio_memory_is_bounded_by_features(rec, tmp_path: Path) -> None:  # noqa: ANN001
    import tracemalloc

    path = tmp_path / "long.flac"
    minutes = 12
    v = np.round(synthetic_voice(5.0, seed=10) * 32767).astype(np.int16)
    with sf.SoundFile(str(path), "w", 16000, 1, "PCM_16", format="FLAC") as f:
        for m in range(minutes):
            block = np.zeros(16000 * 60, np.int16)
            if m % 5 == 0:
                block[: v.size] = v
            f.write(block)
    samples_bytes = minutes * 60 * 16000 * 4  # what holding the float32 samples would cost
    warm = tmp_path / "warm.flac"  # first use imports and caches: not part of the measure
    sf.write(str(warm), synthetic_voice(2.0), 16000)
    rec.predict_file(warm)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "little speech": checked on the report below
            face = rec.predict_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert face.duration_s == pytest.approx(minutes * 60, abs=0.1)
    assert face.voiced_s < 30 and any("little speech" in i for i in face.quality.issues())
    assert peak < samples_bytes / 4, peak
