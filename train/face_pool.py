"""Face-only training images for the expert: renders of random prior faces.

The published expert (SynergyNet) learns from a large face-image corpus
(300W-LP) that is separate from the voice data. In the synthetic world this
pool plays that part: face ``i`` of the pool with seed ``s`` draws 40 shape and
10 expression coefficients from N(0, I) in the units of ``FaceModel.default()``
(the prior of ``train.synth``) and is photographed exactly like the corpus'
faces (:func:`train.synth_faces.random_albedo`, :func:`train.synth_faces.render_face`),
from its own ``SeedSequence(s, spawn_key=(POOL_STREAM, i))``. A pool is
therefore a pure function of ``(n, seed, size)``, whatever the number of workers.
Its faces are fresh draws, disjoint from every corpus identity (held-out ones
included) with probability one.
"""

from __future__ import annotations

import numpy as np

from train.parallel import process_map

__all__ = ["POOL_STREAM", "render_pool"]

POOL_STREAM = 7  # spawn-key prefix; train.synth uses 1-4
_CHUNK = 64


def _chunk_job(args: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Render faces ``start .. stop-1``: (images (n, S, S, 3) uint8, params (n, 51) f32)."""
    from cmp_edge.facemodel import FaceModel
    from train.synth_faces import random_albedo, render_face

    seed, start, stop, size = args
    model = FaceModel.default()
    n_shape, n_expr = 40, 10
    images = np.empty((stop - start, size, size, 3), np.uint8)
    params = np.zeros((stop - start, 1 + n_shape + n_expr), np.float32)
    for row, index in enumerate(range(start, stop)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(POOL_STREAM, index)))
        shape = rng.standard_normal(n_shape).astype(np.float32)
        expr = rng.standard_normal(n_expr).astype(np.float32)
        vertices = np.asarray(model.reconstruct(shape, expr, threads=1), np.float32)
        albedo = random_albedo(vertices, rng)
        images[row] = render_face(vertices, model.triangles, albedo, rng, size)
        params[row, 0] = 1.0
        params[row, 1 : 1 + n_shape] = shape
        params[row, 1 + n_shape :] = expr
    return images, params


def render_pool(n: int, seed: int, size: int, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` photos of random prior faces of the default face model.

    Returns:
        images: (n, size, size, 3) uint8 RGB renders.
        params: (n, 51) float32 targets ``[scale = 1, 40 shape, 10 expression]``.
    """
    if n < 0 or size < 8:
        raise ValueError(f"render_pool: need n >= 0 and size >= 8, got n={n}, size={size}")
    jobs = [(seed, a, min(a + _CHUNK, n), size) for a in range(0, n, _CHUNK)]
    parts = list(process_map(_chunk_job, jobs, workers))
    if not parts:
        return np.empty((0, size, size, 3), np.uint8), np.empty((0, 51), np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
