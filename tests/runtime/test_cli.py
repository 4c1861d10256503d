"""The cmp-edge command in-process: outputs, exit codes and one-line errors."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.cli import main
from tests.runtime.helpers import export_tiny, synthetic_voice


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cmp-edge: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], err


def _wav(path: Path, samples: np.ndarray, sr: int = 16000) -> Path:
    import soundfile as sf

    sf.write(str(path), samples, sr, subtype="PCM_16")
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    from cmp_edge import __version__
    from tests.conftest import REPO_ROOT

    assert run("--version")[0] == 0
    assert capsys.readouterr().out.strip() == f"cmp-edge {__version__}"
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert __version__ == pyproject["project"]["version"]
    assert run("infer", "--version")[0] == 2  # only the top-level command has it


def test_infer_writes_mesh(bundle, voice_wav, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "face.ply"
    code, stdout, err = run("infer", voice_wav, "-o", out, "--model", bundle, "--threads", "1")
    assert code == 0, err
    assert out.is_file() and out.read_bytes().startswith(b"ply")
    assert "vertices" in stdout
    # existing output without --force: refused, file untouched
    before = out.read_bytes()
    code, _, err = run("infer", voice_wav, "-o", out, "--model", bundle)
    assert_one_line_error(code, err, str(out), "--force")
    assert "overwrite=" not in err  # the CLI speaks CLI
    assert out.read_bytes() == before
    from cmp_edge.errors import OutputError
    from cmp_edge.output.mesh import save_mesh

    with pytest.raises(OutputError, match="overwrite=True") as info:  # the API speaks API
        save_mesh(out, np.zeros((3, 3), np.float32), np.array([[0, 1, 2]]), overwrite=False)
    assert "--force" not in str(info.value)
    code, _, err = run("infer", voice_wav, "-o", out, "--model", bundle, "--force", "-q")
    assert code == 0 and err == ""


def test_infer_extras_and_formats(bundle, voice_wav, tmp_path: Path) -> None:  # noqa: ANN001
    params = tmp_path / "p.json"
    code, _, err = run(
        "infer",
        voice_wav,
        "-o",
        tmp_path / "f",
        "--format",
        "npz",
        "--model",
        bundle,
        "--params-json",
        params,
        "-v",
    )
    assert code == 0, err
    assert (tmp_path / "f.npz").is_file()
    assert len(json.loads(params.read_text())["params"]["shape"]) == 40
    assert "providers CPUExecutionProvider" in err and "(ms)" in err
    code, _, err = run(
        "infer", voice_wav, "-o", tmp_path / "x.obj", "--format", "ply", "--model", bundle
    )
    assert_one_line_error(code, err, "contradicts")
    code, _, err = run(
        "infer", voice_wav, "-o", tmp_path / "g", "--format", "glb", "--model", bundle
    )
    assert code == 0, err
    assert (tmp_path / "g.glb").read_bytes()[:4] == b"glTF"


def test_infer_several_inputs_to_folder(bundle, tmp_path: Path) -> None:  # noqa: ANN001
    a = _wav(tmp_path / "a.wav", synthetic_voice(2.0, seed=1))
    b = _wav(tmp_path / "b.wav", synthetic_voice(2.0, f0=200, seed=2))
    outdir = tmp_path / "out"
    outdir.mkdir()
    code, stdout, err = run("infer", a, b, "-o", outdir, "--format", "obj", "--model", bundle)
    assert code == 0, err
    assert sorted(p.name for p in outdir.iterdir()) == ["a.obj", "b.obj"]
    # a missing output folder is created, as `batch` does (nested ones too)
    code, _, err = run("infer", a, b, "-o", tmp_path / "new" / "deep", "--model", bundle)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "new" / "deep").iterdir()) == ["a.ply", "b.ply"]
    code, _, err = run("infer", a, "-o", tmp_path / "one" / "face.obj", "--model", bundle)
    assert code == 0 and (tmp_path / "one" / "face.obj").is_file(), err
    (tmp_path / "file").write_text("x")
    code, _, err = run("infer", a, b, "-o", tmp_path / "file", "--model", bundle)
    assert_one_line_error(code, err, "not a folder")


@pytest.mark.parametrize("case", ["text", "empty", "silence", "few", "missing", "unwritable"])
def test_infer_bad_inputs(bundle, voice_wav, tmp_path: Path, case: str) -> None:  # noqa: ANN001
    audio = voice_wav
    out = tmp_path / "o" / "face.ply"
    out.parent.mkdir()
    needle = ""
    if case == "text":
        audio = tmp_path / "notes.wav"
        audio.write_text("not audio at all")
        needle = "notes.wav"
    elif case == "empty":
        audio = _wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
        needle = "empty"
    elif case == "silence":
        audio = _wav(tmp_path / "silence.wav", np.zeros(32000, np.float32))
        needle = "no voiced speech"
    elif case == "few":
        audio = _wav(tmp_path / "few.wav", np.full(7, 0.2, np.float32))
        needle = "few.wav"
    elif case == "missing":
        audio = tmp_path / "missing.wav"
        needle = "not found"
    elif case == "unwritable":
        if os.geteuid() == 0:
            out = Path("/proc/face.ply")  # not writable even for root
        else:
            out.parent.chmod(0o500)
        needle = "face.ply"
    code, stdout, err = run("infer", audio, "-o", out, "--model", bundle)
    assert_one_line_error(code, err, needle)
    if case != "unwritable":
        assert not out.exists()
        assert list(out.parent.iterdir()) == [] if out.parent.exists() else True


def test_bad_models_one_line(voice_wav, tmp_path: Path, face_model) -> None:  # noqa: ANN001
    import onnx
    from onnx import TensorProto, helper

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00garbage")
    code, _, err = run("infer", voice_wav, "-o", tmp_path / "f.ply", "--model", junk)
    assert_one_line_error(code, err, "junk.onnx", "not a loadable ONNX model")

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    other = tmp_path / "other.onnx"
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8),
        str(other),
    )
    code, _, err = run("infer", voice_wav, "-o", tmp_path / "f.ply", "--model", other)
    assert_one_line_error(code, err, "other.onnx", "not a cmp-edge model")

    mismatch = export_tiny(tmp_path / "mm.onnx", face_model, face_model_id="bfm-somewhere")
    code, _, err = run("infer", voice_wav, "-o", tmp_path / "f.ply", "--model", mismatch)
    assert_one_line_error(code, err, "bfm-somewhere", "--face-model")
    assert not (tmp_path / "f.ply").exists()


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run("infer")
    err = capsys.readouterr().err
    assert code == 2
    assert_one_line_error(code, err, "AUDIO")
    code, _, _ = run("infer", "x.wav", "--device", "tpu")
    assert_one_line_error(code, capsys.readouterr().err, "--device")


def test_info(bundle) -> None:  # noqa: ANN001
    code, out, err = run("info", bundle, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["param_layout"] == {"scale": 1, "shape": 40, "expr": 10}
    assert data["kind"] == "supervised"
    code, out, _ = run("info", bundle)
    assert code == 0 and "face_model_id" in out
    lines = out.splitlines()
    assert lines[0] == "model:" and "provenance:" in lines  # readable sections
    assert max(len(line) for line in lines) < 120  # no 2,000-character provenance line


def test_stream_command(bundle, tmp_path: Path) -> None:  # noqa: ANN001
    audio = _wav(tmp_path / "long.wav", synthetic_voice(3.0))
    out = tmp_path / "s.json"
    code, stdout, err = run("stream", audio, "--model", bundle, "-o", out)
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].split()[:4] == ["audio", "s", "voiced", "s"] and out.is_file()  # a header
    assert lines[-2].endswith("final")  # the final estimate, then the file written
    final_scale = float(lines[-2].split()[2])
    assert final_scale == pytest.approx(json.loads(out.read_text())["params"]["scale"], abs=1e-4)
    assert "parameters (no mesh)" in lines[-1]  # a .json holds parameters only
    code, _, err = run("stream", "--mic", "--model", bundle)
    if code != 0:  # sounddevice is optional
        assert_one_line_error(code, err, "sounddevice")


def test_batch_resume(bundle, tmp_path: Path) -> None:  # noqa: ANN001
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for k in range(3):
        _wav(src / f"v{k}.wav", synthetic_voice(2.0, f0=100 + 40 * k, seed=k))
    _wav(src / "sub" / "silent.wav", np.zeros(16000, np.float32))
    (src / "readme.txt").write_text("ignored")
    outdir = tmp_path / "out"
    code, stdout, err = run("batch", src, "-o", outdir, "--model", bundle, "--workers", "2")
    assert code == 1, err  # one input has no speech
    rows = {Path(r["input"]).name: r for r in json.loads((outdir / "summary.json").read_text())}
    assert {r["status"] for n, r in rows.items() if n != "silent.wav"} == {"ok"}
    assert rows["silent.wav"]["status"] == "failed" and "voiced" in rows["silent.wav"]["error"]
    assert (outdir / "summary.csv").read_text().count("\n") == 5
    assert sorted(p.name for p in outdir.glob("*.ply")) == ["v0.ply", "v1.ply", "v2.ply"]
    # resume: remove one output; only that one is recomputed
    first = rows
    (outdir / "v1.ply").unlink()
    stamp = (outdir / "v0.ply").stat().st_mtime_ns
    code, stdout, err = run("batch", src, "-o", outdir, "--model", bundle)
    rows = {Path(r["input"]).name: r for r in json.loads((outdir / "summary.json").read_text())}
    assert rows["v0.wav"]["status"] == "skipped" and rows["v1.wav"]["status"] == "ok"
    for key in ("duration_s", "voiced_s", "total_ms"):  # merged, not lost
        assert rows["v0.wav"][key] == first["v0.wav"][key]
    assert (outdir / "summary.csv").read_text().count("\n") == 5
    assert (outdir / "v1.ply").is_file()
    assert (outdir / "v0.ply").stat().st_mtime_ns == stamp
    assert "2 skipped" in stdout or "2 of 4" in err


def test_batch_manifest_and_interrupt(bundle, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    files = [_wav(tmp_path / f"m{k}.wav", synthetic_voice(2.0, seed=k)) for k in range(3)]
    manifest = tmp_path / "list.txt"
    manifest.write_text("# inputs\n" + "\n".join(p.name for p in files) + "\n")
    outdir = tmp_path / "out"

    from cmp_edge.runtime.reconstructor import Reconstructor

    original = Reconstructor.iter_batch

    def interrupted(self, paths, workers=None, *, handle=None):  # noqa: ANN001, ANN202
        for k, item in enumerate(original(self, paths, 1, handle=handle)):
            if k == 1:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(Reconstructor, "iter_batch", interrupted)
    code, _, err = run("batch", manifest, "-o", outdir, "--model", bundle)
    assert code == 130 and "interrupted" in err
    rows = json.loads((outdir / "summary.json").read_text())
    assert [r["status"] for r in rows].count("ok") == 1
    assert not list(outdir.glob(".*.tmp"))
    monkeypatch.setattr(Reconstructor, "iter_batch", original)
    code, _, err = run("batch", manifest, "-o", outdir, "--model", bundle)
    assert code == 0, err
    assert len(list(outdir.glob("*.ply"))) == 3
    code, _, err = run("batch", tmp_path / "nothing", "-o", outdir, "--model", bundle)
    assert_one_line_error(code, err, "nothing")


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cmp_edge", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.startswith("cmp-edge ")


def test_infer_default_model_says_synthetic(voice_wav, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "face.obj"
    code, stdout, err = run("infer", voice_wav, "-o", out, "--threads", "1")
    assert code == 0, err
    assert "SYNTHETIC voices" in err and out.is_file()
    notes = [line for line in err.splitlines() if "SYNTHETIC" in line]
    assert len(notes) == 1 and notes[0].startswith("cmp-edge: note: ")
    assert "python -m" not in err  # repository tools are not installed with the package
    code, stdout, err = run("info")
    assert code == 0 and "SYNTHETIC" in stdout
    # the default bundle's face model is the packaged ICT head: info credits its source
    assert re.search(r"face_model_id +ict-facekit-head-v1", stdout)
    assert "ICT Face Model Light" in stdout and "MIT" in stdout
    code, stdout, _ = run("info", "--json")
    assert "USC Institute for Creative Technologies" in json.loads(stdout)["face_model_source"]


def test_infer_render(bundle, voice_wav, tmp_path: Path) -> None:  # noqa: ANN001
    png = tmp_path / "face.png"
    code, _, err = run(
        "infer", voice_wav, "-o", tmp_path / "f.ply", "--render", png, "--model", bundle
    )
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run(
        "infer", voice_wav, "-o", tmp_path / "g.ply", "--render", png, "--model", bundle
    )
    assert_one_line_error(code, err, "face.png", "--force")
    assert not (tmp_path / "g.ply").exists()


def test_readme_main_job(tmp_path: Path) -> None:
    """The README's command: the shipped example voice with the built-in model."""
    from tests.conftest import REPO_ROOT

    voice = REPO_ROOT / "examples" / "voice.wav"
    out, png = tmp_path / "face.ply", tmp_path / "face.png"
    code, stdout, err = run("infer", voice, "-o", out, "--render", png, "--threads", "1")
    assert code == 0, err
    assert out.read_bytes().startswith(b"ply") and png.read_bytes()[:4] == b"\x89PNG"
    assert "SYNTHETIC" in err and "vertices" in stdout


@pytest.mark.parametrize("failing", ["params", "render", "rename"])
def test_infer_outputs_are_all_or_nothing(
    bundle, voice_wav, tmp_path: Path, monkeypatch, failing: str
) -> None:  # noqa: ANN001
    import cmp_edge._safe.atomic
    import cmp_edge.output.render
    from cmp_edge.errors import OutputError

    outdir = tmp_path / "out"
    outdir.mkdir()
    mesh, params, png = outdir / "x.ply", outdir / "x.json", outdir / "x.png"
    if failing == "params":
        if os.geteuid() == 0:
            params = Path("/proc/x.json")  # accepted by the checks, not writable even for root
        else:
            monkeypatch.setattr(
                "cmp_edge._safe.atomic.write_chunks",
                lambda path, *a, **k: (_ for _ in ()).throw(OutputError(f"{path}: disk full")),
            )
    elif failing == "render":

        def broken_png(path, image, **kwargs):  # noqa: ANN001, ANN003, ANN202
            raise OutputError(f"{path}: disk full")

        monkeypatch.setattr(cmp_edge.output.render, "write_png", broken_png)
    else:
        # publishing is os.replace (--force) or os.link (no overwrite): fail both for x.png
        for name in ("replace", "link"):
            real = getattr(cmp_edge._safe.atomic.os, name)

            def publish(src, dst, real=real):  # noqa: ANN001, ANN202
                if Path(dst) == png:
                    raise OSError(28, "No space left on device")
                return real(src, dst)

            monkeypatch.setattr(cmp_edge._safe.atomic.os, name, publish)
    code, _, err = run(
        "infer", voice_wav, "-o", mesh, "--params-json", params, "--render", png, "--model", bundle
    )
    assert_one_line_error(code, err, "x.json" if failing == "params" else "x.png")
    assert ".tmp" not in err  # the message names the target, not the temporary file
    assert list(outdir.iterdir()) == []


@pytest.mark.parametrize("devices", [0, 1])
def test_infer_device_cuda(bundle, voice_wav, tmp_path: Path, monkeypatch, devices: int) -> None:  # noqa: ANN001
    """--device cuda follows the run-time probe, not how the extension was built."""
    from cmp_edge import _C
    from cmp_edge import _native as _cuda
    from cmp_edge.model import session

    monkeypatch.setattr(_C, "has_cuda", lambda: False)  # as if built without nvcc
    monkeypatch.setattr(_C, "cuda_device_count", lambda: 0)
    monkeypatch.setattr(_cuda, "driver_device_count", lambda: devices)
    monkeypatch.setattr(session, "ort_providers", lambda: ["CPUExecutionProvider"])
    out = tmp_path / "f.json"
    code, _, err = run("infer", voice_wav, "-o", out, "--model", bundle, "--device", "cuda", "-v")
    if not devices:
        assert_one_line_error(code, err, "--device cuda", "no CUDA device")
        return
    assert code == 0, err
    assert "ONNX Runtime runs on CPU" in err and "reconstruction on cpu" in err
    assert "CUDAExecutionProvider" not in err  # never asked of ONNX Runtime here
    assert json.loads(out.read_text())["metadata"]["devices"] == {
        "model": "CPUExecutionProvider",
        "reconstruct": "cpu",
    }


@pytest.mark.parametrize("quiet", [False, True])
def test_warnings_are_one_line(bundle, tmp_path: Path, quiet: bool) -> None:  # noqa: ANN001
    import soundfile as sf

    loud = tmp_path / "loud.wav"
    voice = synthetic_voice(2.5, seed=1)
    sf.write(str(loud), 1.5 * voice / np.abs(voice).max(), 16000, subtype="FLOAT")
    extra = ["-q"] if quiet else []
    code, _, err = run("infer", loud, "-o", tmp_path / "f.ply", "--model", bundle, *extra)
    assert code == 0, err
    if quiet:
        assert err == ""
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cmp-edge: warning: ") and "loud.wav" in lines[0], err
    assert "full scale" in lines[0] and "UserWarning" not in err and "warn(" not in err


def test_infer_folder_input_points_to_batch(bundle, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "recordings"
    folder.mkdir()
    code, _, err = run("infer", folder, "-o", tmp_path / "f.ply", "--model", bundle)
    assert_one_line_error(code, err, "recordings: is a folder", "cmp-edge batch")
    code, _, err = run("stream", folder, "--model", bundle)
    assert_one_line_error(code, err, "recordings: is a folder")


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["-o", "same.json", "--params-json", "same.json"], ["-o and --params-json"]),
        (
            ["-o", "f.ply", "--params-json", "p.png", "--render", "p.png"],
            ["--params-json and --render"],
        ),
        (["-o", "f.ply", "--params-json", "voice.wav"], ["--params-json names an input file"]),
        (["-o", "f.ply", "--render", "f.jpg"], ["f.jpg", "--render", ".png"]),
        (["-o", "nosuffix"], ["nosuffix", "no file suffix", ".ply, .obj, .glb, .npz or .json"]),
        (["-o", "face.v2"], ["unknown suffix .v2", "--format"]),
    ],
)
def test_infer_output_names_checked(
    bundle, voice_wav, tmp_path: Path, monkeypatch, extra: list[str], needles: list[str]
) -> None:  # noqa: ANN001
    monkeypatch.chdir(voice_wav.parent)
    before = sorted(p.name for p in voice_wav.parent.iterdir())
    code, _, err = run("infer", voice_wav.name, *extra, "--model", bundle)
    assert_one_line_error(code, err, *needles)
    assert code == 1
    assert sorted(p.name for p in voice_wav.parent.iterdir()) == before


def test_output_without_suffix_takes_format(bundle, voice_wav, tmp_path: Path) -> None:  # noqa: ANN001
    code, _, err = run(
        "infer", voice_wav, "-o", tmp_path / "a", "--format", "obj", "--model", bundle
    )
    assert code == 0, err
    assert (tmp_path / "a.obj").is_file()
    code, _, err = run("stream", voice_wav, "-o", tmp_path / "b", "--model", bundle)
    assert_one_line_error(code, err, "no file suffix")
    assert not list(tmp_path.glob("b*"))


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "x"])
def test_min_speech_must_be_finite_and_not_negative(
    voice_wav, tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)  # were the value accepted, the default output lands here
    code, _, _ = run("infer", voice_wav, "--min-speech", value)
    assert code == 2
    assert_one_line_error(code, capsys.readouterr().err, "--min-speech", value)


def test_batch_given_an_audio_file_points_to_infer(bundle, voice_wav, tmp_path: Path) -> None:  # noqa: ANN001
    outdir = tmp_path / "out"
    code, _, err = run("batch", voice_wav, "-o", outdir, "--model", bundle)
    assert_one_line_error(code, err, "voice.wav", "audio file", "cmp-edge infer")
    renamed = voice_wav.with_name("voice.dat")  # audio without an audio suffix
    voice_wav.rename(renamed)
    code, _, err = run("batch", renamed, "-o", outdir, "--model", bundle)
    assert_one_line_error(code, err, "voice.dat", "cmp-edge infer")
    blob = tmp_path / "blob.txt"
    blob.write_bytes(b"\x00\x01binary" * 10)
    code, _, err = run("batch", blob, "-o", outdir, "--model", bundle)
    assert_one_line_error(code, err, "blob.txt", "binary file")
    assert not outdir.exists()


def test_info_missing_model_hint_fits_the_command(tmp_path: Path) -> None:
    code, _, err = run("info", tmp_path / "missing.onnx")
    assert_one_line_error(code, err, "missing.onnx", "not found", "cmp-edge info")
    assert "--model" not in err
    code, _, err = run("info", tmp_path)  # a folder without a bundle
    assert_one_line_error(code, err, "no .onnx files", "cmp-edge info")
    assert "--model" not in err


def test_no_vad_uses_all_audio(bundle, tmp_path: Path) -> None:  # noqa: ANN001
    # quiet noise (RMS -50 dBFS): audible, but the VAD keeps under 0.1 s of it
    noise = 0.003 * np.random.default_rng(0).standard_normal(32000)
    quiet = _wav(tmp_path / "hum.wav", noise.astype(np.float32))
    code, _, err = run("infer", quiet, "-o", tmp_path / "a.json", "--model", bundle)
    assert_one_line_error(code, err, "voiced speech", "--min-speech")
    code, _, err = run("infer", quiet, "-o", tmp_path / "a.json", "--model", bundle, "--no-vad")
    assert code == 0, err
    assert json.loads((tmp_path / "a.json").read_text())["metadata"]["voiced_s"] == pytest.approx(
        2.0
    )
    code, stdout, err = run("stream", quiet, "--model", bundle, "--no-vad")
    assert code == 0, err
    final = stdout.splitlines()[-1].split()
    assert final[-1] == "final" and float(final[1]) == pytest.approx(2.0)  # voiced seconds
    src = tmp_path / "in"
    src.mkdir()
    quiet.rename(src / "hum.wav")
    code, _, err = run("batch", src, "-o", tmp_path / "out", "--model", bundle, "--no-vad")
    assert code == 0, err
    assert (tmp_path / "out" / "hum.ply").is_file()


def test_device_cuda_provider_that_cannot_load_is_one_note(
    bundle, voice_wav, tmp_path: Path, monkeypatch, capfd: pytest.CaptureFixture[str]
) -> None:  # noqa: ANN001
    """A GPU is seen but ONNX Runtime's CUDA provider fails to load: no raw ORT log lines."""
    import onnxruntime as ort

    from cmp_edge import _native as _cuda

    if "CUDAExecutionProvider" not in ort.get_available_providers() or _cuda.device_count() > 0:
        pytest.skip("needs onnxruntime-gpu on a machine without a usable GPU")
    monkeypatch.setattr(_cuda, "device_count", lambda: 1)
    monkeypatch.setattr(_cuda, "native_kernels", lambda: False)
    code, _, err = run(
        "infer", voice_wav, "-o", tmp_path / "f.ply", "--model", bundle, "--device", "cuda"
    )
    assert code == 0, err
    assert err.strip() == (
        "cmp-edge: note: CUDA was requested but ONNX Runtime runs on CPU here: its CUDA "
        "provider did "
        "not load (CUDA/cuDNN libraries missing?; -v shows why)"
    )
    fd = capfd.readouterr()
    assert "onnxruntime" not in fd.err and "CUDAExecutionProvider" not in fd.err
