"""Hostile audio, PNG and manifest inputs (kinds 3, 4, 8): crafted cases and fuzzing."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import AudioError, CmpEdgeError
from tests.hostile.sandbox import run_sandboxed


def _cli(*argv: object) -> tuple[int, list[str]]:
    from cmp_edge.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, err.getvalue().strip().splitlines()


# ------------------------------------------------------------------ kind 8: duration
def test_load_refuses_audio_over_the_cap(tmp_path: Path) -> None:
    import soundfile as sf

    from cmp_edge.audio.decode import load
    from cmp_edge.limits import limits

    path = tmp_path / "long.wav"
    sf.write(str(path), np.zeros(16000 * 3, np.float32), 16000, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"3\.0 s of audio is longer than the 2 s limit"):
        load(path, max_seconds=2.0)
    assert load(path, max_seconds=3.5)[0].shape == (48000,)
    with limits(max_audio_seconds=1.0), pytest.raises(AudioError, match="max_duration_s"):
        load(path)
    for bad in (math.nan, math.inf, 0.0, -1.0, True):
        with pytest.raises(AudioError, match="max_duration_s"):
            load(path, max_seconds=bad)


def test_reconstructor_and_cli_duration_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import soundfile as sf

    from tests.hostile.bundles import metadata, tiny_face_model, write_bundle
    from tests.runtime.helpers import synthetic_voice

    tiny_face_model().save(tmp_path / "m.facemodel.npz")
    model = write_bundle(tmp_path / "m.onnx", metadata(face_model_file="m.facemodel.npz"))
    wav = tmp_path / "v.wav"
    voice = synthetic_voice(3.0, seed=2)
    sf.write(str(wav), voice, 16000, subtype="PCM_16")
    from cmp_edge.runtime.reconstructor import Reconstructor

    rec = Reconstructor(model, max_duration_s=2.0)
    with pytest.raises(AudioError, match="longer than the 2 s limit"):
        rec.predict(voice, 16000)
    with pytest.raises(AudioError, match="longer than the 2 s limit"):
        rec.predict_file(wav)
    stream = rec.create_stream()
    stream.accept_waveform(16000, voice[:16000])
    with pytest.raises(AudioError, match="longer than the 2 s limit"):
        stream.accept_waveform(16000, voice[16000:])
    assert Reconstructor(model, max_duration_s=4.0).predict_file(wav).duration_s == 3.0
    code, lines = _cli(
        "infer", wav, "-o", tmp_path / "o.ply", "--model", model, "--max-duration", "2"
    )
    assert code == 1 and len(lines) == 1 and "--max-duration" in lines[0]
    code, _ = _cli("infer", wav, "-o", tmp_path / "o.ply", "--model", model, "--max-duration", "5")
    assert code == 0 and (tmp_path / "o.ply").is_file()
    capsys.readouterr()
    code, _ = _cli("infer", wav, "--model", model, "--max-duration", "nan")
    usage = capsys.readouterr().err.strip().splitlines()  # argparse writes to sys.stderr
    assert code == 2 and len(usage) == 1 and "--max-duration" in usage[0]


# ---------------------------------------------------------- kind 4: non-finite options
@pytest.mark.parametrize("value", [math.nan, -0.5, math.inf, True, "1"])
def test_min_speech_must_be_finite(value: object) -> None:
    """A NaN minimum-speech setting used to disable the guard (nan < x is False)."""
    from cmp_edge.runtime.reconstructor import Reconstructor

    with pytest.raises(CmpEdgeError, match="min_speech_s"):
        Reconstructor(min_voiced_s=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("option", ["min_speech_s", "refresh_s", "window_s"])
def test_stream_options_must_be_finite(option: str) -> None:
    from cmp_edge.runtime.reconstructor import Reconstructor

    rec = Reconstructor()
    with pytest.raises(CmpEdgeError, match=option):
        rec.create_stream(**{option: math.nan})


# ------------------------------------------------------------- kind 3: audio headers
def test_flac_declaring_2_to_the_36_frames() -> None:
    run_sandboxed("tests.hostile.fuzz_media:crafted_flac_2_to_the_36_frames", timeout=60)


# ------------------------------------------------------------------ kind 3: PNG
def test_png_dimension_and_deflate_bombs() -> None:
    run_sandboxed("tests.hostile.fuzz_media:crafted_png_bombs", timeout=60)


def test_png_limit_is_adjustable() -> None:
    from cmp_edge.limits import limits
    from cmp_edge.output.png import PngError, decode_png, encode_png

    raw = encode_png(np.zeros((20, 30, 3), np.uint8))
    with limits(max_image_pixels=500), pytest.raises(PngError, match="max_image_pixels"):
        decode_png(raw)
    assert decode_png(raw).shape == (20, 30, 3)


# ------------------------------------------------------------------- fuzzing
@pytest.mark.slow
@pytest.mark.parametrize("target", ["fuzz_audio", "fuzz_png", "fuzz_manifests"])
def test_fuzz_media(target: str) -> None:
    run_sandboxed(f"tests.hostile.fuzz_media:{target}")
