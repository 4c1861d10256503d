"""Synthetic talking-head videos for the train.prepare tests and benchmarks.

Speakers come from :func:`train.synth.make_identities` (faces of the default model,
voices whose features follow the face's geometry); each gets one MP4 (H.264 + AAC,
rendered with :func:`cmp_edge.output.render.overlay`, the head moving a little) and
one audio-only file (FLAC). Beside each video, optionally, the exact landmarks as
``<video>.landmarks.json`` (projected with the same pose, plus pixel noise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Planted", "encode_video", "make_talking_heads"]

FPS = 10


@dataclass(frozen=True)
class Planted:
    """One synthetic speaker: name, gender, split and planted shape coefficients."""

    name: str
    gender: str
    split: str
    shape: np.ndarray


def encode_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int,
    audio: np.ndarray | None,
    rate: int = 16000,
    rotation: int = 0,
) -> None:
    """Write (H, W, 3) uint8 frames (H.264) and float mono audio (AAC) as an MP4.

    ``rotation`` (degrees, counter-clockwise) is stored as display-matrix metadata.
    """
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "18"}
        if rotation:
            vs.set_display_rotation(rotation)
        a_s = None
        if audio is not None:
            a_s = out.add_stream("aac", rate=rate)
            a_s.layout = "mono"
        for img in frames:
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        if a_s is not None and audio is not None:
            pcm = np.asarray(audio, dtype=np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
            frame.sample_rate = rate
            for pkt in a_s.encode(frame):
                out.mux(pkt)
            for pkt in a_s.encode(None):
                out.mux(pkt)


def make_talking_heads(
    root: Path,
    n: int,
    *,
    seed: int = 0,
    seconds: float = 3.0,
    frames: int = 6,
    size: int = 160,
    noise_px: float = 0.5,
    sidecars: bool = True,
    coupling: float = 1.0,
) -> list[Planted]:
    """Write ``root/<speaker>/{talk.mp4, extra.flac}`` (+ landmark sidecars) and
    ``root/speakers.csv``; returns the planted speakers."""
    import soundfile

    from cmp_edge.facemodel import FaceModel
    from cmp_edge.fitting import euler_rotation
    from cmp_edge.fitting.synthetic import project_landmarks
    from cmp_edge.output.render import overlay
    from train import synth, synth_faces, synth_voice

    fm = FaceModel.default()
    settings = synth.CorpusSettings(identities=n, seed=seed, coupling=coupling, utterances=2)
    geometry = synth_faces.FaceGeometry.for_model(fm)
    specs = synth.make_identities(settings, geometry, 40, 10)
    root.mkdir(parents=True, exist_ok=True)
    rows = ["speaker,gender"]
    out = []
    for spec in specs:
        rng = np.random.default_rng([seed, spec.index])
        folder = root / spec.name
        folder.mkdir(exist_ok=True)
        verts = fm.reconstruct(spec.shape)
        albedo = synth_faces.random_albedo(verts, rng)
        background = np.full((size, size, 3), rng.integers(40, 200, 3), dtype=np.uint8)
        scale = size / 260.0
        imgs, marks = [], []
        for k in range(frames):
            yaw, pitch = 12 * np.sin(k + spec.index), 6 * np.cos(1.3 * k)
            rot = euler_rotation(yaw, pitch, rng.normal(0, 3))
            expr = rng.normal(size=10) * 0.3
            t = np.array([size / 2, size / 2 - 5, 0.0]) + np.append(rng.normal(0, 2, 2), 0)
            v = fm.reconstruct(spec.shape, expr)
            imgs.append(overlay(background, v, fm.triangles, rot, t, scale, 1.0, colors=albedo))
            pts = project_landmarks(fm, spec.shape, expr, rot, scale, t, (size, size))
            marks.append(pts + rng.normal(0, noise_px, pts.shape))
        voice = [synth_voice.synthesize(spec.speaker, seconds, rng) for _ in range(2)]
        encode_video(folder / "talk.mp4", imgs, FPS, voice[0], synth_voice.SAMPLE_RATE)
        soundfile.write(folder / "extra.flac", voice[1], synth_voice.SAMPLE_RATE)
        if sidecars:
            entry = [{"time": k / FPS, "faces": [m.round(2).tolist()]} for k, m in enumerate(marks)]
            (folder / "talk.mp4.landmarks.json").write_text(json.dumps({"frames": entry}))
        rows.append(f"{spec.name},{spec.gender}")
        out.append(Planted(spec.name, spec.gender, spec.split, np.asarray(spec.shape)))
    (root / "speakers.csv").write_text("\n".join(rows) + "\n")
    return out
