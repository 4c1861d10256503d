"""TODO(synth): temporary stand-ins until the frontend, face-model and render work lands.

Delete this module once cmp_edge.features.cmp_features, FaceModel.default(),
cmp_edge.render.render_mesh and cmp_edge.mesh.save_mesh are merged; the
corpus must then use those. These are deliberately crude: a 1600-vertex
ellipsoid face model, an energy-VAD-free log-mel and a point-splat renderer.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np


@dataclasses.dataclass
class InterimFaceModel:
    """Smallest stand-in with the FaceModel attributes the corpus uses."""

    mean: np.ndarray
    shape_basis: np.ndarray
    expr_basis: np.ndarray
    triangles: np.ndarray
    landmarks: dict[str, int]
    id: str = "interim-ellipsoid"

    def reconstruct(self, shape: np.ndarray, expr: np.ndarray | None = None) -> np.ndarray:
        """Vertices (N, 3) float32."""
        flat = self.mean.reshape(-1) + self.shape_basis @ np.asarray(shape, np.float32)
        if expr is not None:
            flat = flat + self.expr_basis @ np.asarray(expr, np.float32)
        return flat.reshape(-1, 3).astype(np.float32)


@functools.cache
def face_model() -> Any:
    """The real default face model if present, else the interim ellipsoid."""
    try:
        from cmp_edge.facemodel import FaceModel
    except ImportError:
        pass
    else:
        return FaceModel.default()
    rows, cols = 40, 40
    theta = np.linspace(-0.45 * np.pi, 0.45 * np.pi, rows)  # latitude
    phi = np.linspace(-0.5 * np.pi, 0.5 * np.pi, cols)  # longitude (front half)
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    mean = np.stack(
        [75.0 * np.cos(tt) * np.sin(pp), 100.0 * np.sin(tt), 60.0 * np.cos(tt) * np.cos(pp)], -1
    ).reshape(-1, 3)
    rng = np.random.default_rng(7)
    x, y = mean[:, 0] / 75.0, mean[:, 1] / 100.0
    polys = [x**a * y**b for a in range(7) for b in range(7) if 0 < a + b <= 8][:40]
    shape = np.zeros((mean.size, 40), np.float32)
    for k, p in enumerate(polys):
        d = rng.standard_normal(3) * 2.0
        shape[:, k] = (p[:, None] * d[None, :]).reshape(-1)
    expr = np.zeros((mean.size, 10), np.float32)
    mouth = np.exp(-((x / 0.3) ** 2 + ((y + 0.5) / 0.15) ** 2))
    for k in range(10):
        d = rng.standard_normal(3)
        expr[:, k] = (mouth[:, None] * d[None, :] * np.cos(k * x)[:, None]).reshape(-1)
    tris = []
    for i in range(rows - 1):
        for j in range(cols - 1):
            a = i * cols + j
            tris += [[a, a + 1, a + cols], [a + 1, a + cols + 1, a + cols]]

    def near(px: float, py: float) -> int:
        return int(np.argmin((mean[:, 0] - px) ** 2 + (mean[:, 1] - py) ** 2 + mean[:, 2] * 0))

    landmarks = {
        "oicd_left": near(-40, 20),
        "oicd_right": near(40, 20),
        "forehead_left": near(-45, 60),
        "forehead_right": near(45, 60),
        "cheek_left": near(-55, -30),
        "cheek_right": near(55, -30),
        "ear_left": near(-74, 5),
        "ear_right": near(74, 5),
        "mid_left": near(-60, 0),
        "mid_right": near(60, 0),
        "ibug_27": near(0, 25),
        "ibug_08": near(0, -95),
    }
    return InterimFaceModel(
        mean.astype(np.float32), shape, expr, np.array(tris, np.int32), landmarks
    )


def cmp_features(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Rough CMP-like features: WebRTC VAD (per frame), 64-bin log-mel, normalise, pad."""
    import webrtcvad

    pcm = np.round(samples * 32767).astype(np.int16)
    vad = webrtcvad.Vad(2)
    keep = [
        pcm[i : i + 320]
        for i in range(0, len(pcm) - 320, 320)
        if vad.is_speech(pcm[i : i + 320].tobytes(), sample_rate)
    ]
    x = np.concatenate(keep).astype(np.float64) if keep else pcm.astype(np.float64)
    n_frames = len(x) // 160 + 1
    x = np.pad(x, (0, 400))
    frames = np.stack([x[160 * k : 160 * k + 400] for k in range(n_frames)]) * np.hamming(400)
    power = np.abs(np.fft.rfft(frames, 1024)) ** 2
    edges = np.linspace(0, 300, 66).astype(int)
    mel = np.stack([power[:, edges[i] : edges[i + 2] + 1].sum(1) for i in range(64)], 1)
    logspec = np.log(np.maximum(mel, 1e-5)).astype(np.float32)
    feats = (logspec - logspec.mean(0)) / (logspec.std(0) + 1.1920929e-07)
    reps = -(-1000 // len(feats))
    return np.tile(feats, (reps, 1))[: max(1000, len(feats))].astype(np.float32)


def render_mesh(
    vertices: np.ndarray,
    triangles: np.ndarray,
    *,
    size: int,
    colors: np.ndarray,
    light: tuple[np.ndarray, float],
    background: np.ndarray,
) -> np.ndarray:
    """Point-splat orthographic render, front view, face filling the middle."""
    direction, ambient = light
    v0, v1, v2 = (vertices[triangles[:, k]] for k in range(3))
    fn = np.cross(v1 - v0, v2 - v0)
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, triangles[:, k], fn)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
    shade = ambient + (1 - ambient) * np.clip(normals @ direction, 0, 1)
    rgb = np.clip(colors * shade[:, None], 0, 1)
    lo, hi = vertices[:, :2].min(0), vertices[:, :2].max(0)
    scale = 0.8 * size / float((hi - lo).max())
    centre = 0.5 * (lo + hi)
    px = np.clip(((vertices[:, 0] - centre[0]) * scale + size / 2).astype(int), 0, size - 1)
    py = np.clip((-(vertices[:, 1] - centre[1]) * scale + size / 2).astype(int), 0, size - 1)
    image = np.tile(background, (size, size, 1))
    order = np.argsort(vertices[:, 2])  # far to near: nearer points overwrite
    for d in range(-2, 3):
        for e in range(-2, 3):
            qx, qy = np.clip(px + d, 0, size - 1), np.clip(py + e, 0, size - 1)
            image[qy[order], qx[order]] = rgb[order]
    return (image * 255 + 0.5).astype(np.uint8)


def write_png(path: Path, image: np.ndarray) -> None:
    """Minimal 8-bit RGB PNG writer."""
    import struct
    import zlib

    h, w, _ = image.shape
    raw = b"".join(b"\x00" + image[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    Path(path).write_bytes(png)


def save_mesh(path: Path, vertices: np.ndarray, triangles: np.ndarray) -> None:
    """OBJ text writer."""
    lines = [f"v {x:.4f} {y:.4f} {z:.4f}" for x, y, z in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in triangles]
    Path(path).write_text("\n".join(lines) + "\n")
