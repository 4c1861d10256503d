"""Small procedural meshes shared by the render tests and benchmarks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def uv_sphere(
    radius: float = 1.0, rings: int = 64, segments: int = 128
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """A closed UV sphere centred at the origin: (N, 3) float32 vertices, (F, 3) int32 triangles.

    N = (rings - 1) * segments + 2, F = 2 * (rings - 1) * segments, triangles
    wound counter-clockwise seen from outside.
    """
    theta = np.linspace(0.0, np.pi, rings + 1)[1:-1]  # polar angle of interior rings
    phi = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    ring = np.stack([st * np.cos(phi), ct * np.ones_like(phi), st * np.sin(phi)], axis=-1).reshape(
        -1, 3
    )
    verts = np.concatenate([[[0.0, 1.0, 0.0]], ring, [[0.0, -1.0, 0.0]]]) * radius
    top, bottom = 0, len(verts) - 1
    idx = 1 + np.arange((rings - 1) * segments).reshape(rings - 1, segments)
    nxt = np.roll(idx, -1, axis=1)
    faces = [np.stack([np.full(segments, top), nxt[0], idx[0]], axis=1)]
    a, b = idx[:-1], nxt[:-1]
    c, d = idx[1:], nxt[1:]
    faces.append(np.stack([a, b, c], axis=-1).reshape(-1, 3))
    faces.append(np.stack([b, d, c], axis=-1).reshape(-1, 3))
    faces.append(np.stack([np.full(segments, bottom), idx[-1], nxt[-1]], axis=1))
    return verts.astype(np.float32), np.concatenate(faces).astype(np.int32)


def grid(
    nx: int, ny: int, width: float = 1.0, height: float = 1.0, z: float = 0.0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """A flat nx x ny vertex grid in the plane z = const, centred on the z axis."""
    xs = np.linspace(-width / 2, width / 2, nx)
    ys = np.linspace(-height / 2, height / 2, ny)
    gx, gy = np.meshgrid(xs, ys)
    verts = np.stack([gx, gy, np.full_like(gx, z)], axis=-1).reshape(-1, 3)
    idx = np.arange(nx * ny).reshape(ny, nx)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate(
        [np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)]
    )
    return verts.astype(np.float32), faces.astype(np.int32)


def bumpy_head(n_target: int = 50_000) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """A head-sized (about 150 mm wide) bumpy ellipsoid with about ``n_target`` vertices."""
    rings = int(np.sqrt(n_target / 2.0))
    verts, faces = uv_sphere(1.0, rings, 2 * rings)
    bumps = 1.0 + 0.05 * np.sin(7 * verts[:, 0]) * np.cos(5 * verts[:, 1])
    verts = verts * bumps[:, None] * np.array([75.0, 100.0, 85.0], dtype=np.float32)
    return verts.astype(np.float32), faces
