"""TODO(synth): temporary stand-ins until the frontend, face-model and render work lands.

Delete this module once cmp_edge.render.render_mesh / write_png and
cmp_edge.mesh.save_mesh are merged; the corpus must then use those. The
renderer here is a deliberately crude point splatter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


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
