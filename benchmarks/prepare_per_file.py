"""Time of ``train.prepare`` per input file, with MediaPipe: videos and photos as people have them.

Run in the detector's environment (docs/prepare.md)::

    PYTHONPATH=. .venv-detect/bin/python -m benchmarks.prepare_per_file

Each input is one speaker with one file, processed by
:func:`train.prepare.speaker.process_speaker` in this process (decoding, detection,
joint fit, features, QA overlays, writing), after one untimed warm-up file that
loads MediaPipe. Inputs: a 10 s video of the default head (256 x 256, 10 fps, H.264 +
AAC) and the same at 1280 x 720 and 30 fps; the astronaut portrait of scikit-image
(512 x 512 PNG) and the same upscaled to a 4000 x 3000 JPEG. Voices come from
``train.synth_voice``. Prints CPU and wall seconds per file (median of ``--runs``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from cmp_edge.facemodel import FaceModel
from cmp_edge.fitting import euler_rotation
from cmp_edge.output.render import overlay
from tests.prepare.talking_heads import encode_video
from train import synth, synth_faces, synth_voice
from train.prepare.inputs import SpeakerInput
from train.prepare.speaker import Options, process_speaker


def _video(path: Path, width: int, height: int, fps: int, seconds: float) -> None:
    fm = FaceModel.default()
    settings = synth.CorpusSettings(identities=1, seed=0, coupling=0.9, utterances=1)
    spec = synth.make_identities(settings, synth_faces.FaceGeometry.for_model(fm), 40, 10)[0]
    rng = np.random.default_rng(0)
    verts = fm.reconstruct(spec.shape)
    albedo = synth_faces.random_albedo(verts, rng)
    background = np.full((height, width, 3), 120, np.uint8)
    scale = min(width, height) / 260.0
    frames = []
    for k in range(int(seconds * fps)):
        rot = euler_rotation(10 * np.sin(k / fps), 4 * np.cos(k / fps), 0.0)
        t = np.array([width / 2, height / 2, 0.0])
        frames.append(overlay(background, verts, fm.triangles, rot, t, scale, 1.0, colors=albedo))
    voice = synth_voice.synthesize(spec.speaker, seconds, rng)
    encode_video(path, frames, fps, voice, synth_voice.SAMPLE_RATE)


def _photos(folder: Path) -> list[Path]:
    from PIL import Image
    from skimage import data

    small = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(small)
    large = folder / "astronaut_4000x3000.jpg"
    Image.fromarray(data.astronaut()).resize((4000, 3000), Image.Resampling.BICUBIC).save(
        large, quality=92
    )
    return [small, large]


def main(argv: list[str] | None = None) -> int:
    """Make the inputs, time each one, print a Markdown table."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.prepare_per_file")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = {
            "video 10 s, 256 x 256, 10 fps, H.264 + AAC": root / "small.mp4",
            "video 10 s, 1280 x 720, 30 fps, H.264 + AAC": root / "hd.mp4",
        }
        _video(inputs["video 10 s, 256 x 256, 10 fps, H.264 + AAC"], 256, 256, 10, 10.0)
        _video(inputs["video 10 s, 1280 x 720, 30 fps, H.264 + AAC"], 1280, 720, 30, 10.0)
        small, large = _photos(root)
        inputs["photo 512 x 512 PNG (the astronaut)"] = small
        inputs["photo 4000 x 3000 JPEG"] = large
        process_speaker(SpeakerInput("Warm", "f", [small], "id10000"), Options(out=root / "w"))
        print("| input | CPU s | wall s |\n|---|---|---|")
        for label, path in inputs.items():
            cpu, wall = [], []
            for r in range(args.runs):
                opts = Options(out=root / f"out{r}", force=True)
                t0, c0 = time.perf_counter(), time.process_time()
                record = process_speaker(SpeakerInput("Frank", "m", [path], "id10001"), opts)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            status = record["files"][0]["status"]
            print(
                f"| {label} | {statistics.median(cpu):.2f} | {statistics.median(wall):.2f} |"
                + ("" if status == "ok" else f" ({status}: {record['files'][0]['message']})")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
