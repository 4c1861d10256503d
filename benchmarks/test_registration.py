"""Point-to-surface queries and registration, against trimesh in the same run.

Run: ``python -m pytest benchmarks/test_registration.py --benchmark-only``.
Groups: ``closest-points`` (2000 queries near a 1600-vertex face grid:
cmp-edge's k-nearest-vertex candidates vs trimesh's brute force; trimesh's
exact ``closest_point`` needs the optional rtree package and is skipped without
it), ``procrustes`` (the default face's ~29k face vertices, rigid and scaled)
and ``icp`` (a 6k-vertex face onto a 1.4k-vertex copy, from an 8 degree offset).
"""

from __future__ import annotations

import numpy as np
import pytest

from cmp_edge import metrics
from tests.metrics.meshes import face_grid, rotation

trimesh = pytest.importorskip("trimesh")


@pytest.fixture(scope="module")
def surface() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v, f = face_grid(6)
    rng = np.random.default_rng(0)
    q = v[rng.choice(len(v), 2000)] + rng.normal(size=(2000, 3))
    return v, f, q


@pytest.mark.benchmark(group="closest-points")
def test_closest_points_cmp_edge(benchmark, surface) -> None:
    v, f, q = surface
    benchmark(metrics.closest_points, q, v, f)


@pytest.mark.benchmark(group="closest-points")
def test_closest_points_trimesh_naive(benchmark, surface) -> None:
    v, f, q = surface
    mesh = trimesh.Trimesh(v, f, process=False)
    benchmark.pedantic(trimesh.proximity.closest_point_naive, (mesh, q), rounds=1)


@pytest.mark.benchmark(group="closest-points")
def test_closest_points_trimesh_rtree(benchmark, surface) -> None:
    pytest.importorskip("rtree")
    v, f, q = surface
    mesh = trimesh.Trimesh(v, f, process=False)
    benchmark(trimesh.proximity.closest_point, mesh, q)


@pytest.fixture(scope="module")
def face_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from cmp_edge.facemodel import FaceModel

    fm = FaceModel.default()
    face = metrics.model_regions(fm).face
    ref = np.asarray(fm.mean, np.float64)
    pred = np.asarray(fm.reconstruct(np.full(40, 0.5, np.float32)), np.float64)
    return pred, ref, face


@pytest.mark.benchmark(group="procrustes")
@pytest.mark.parametrize("scale", [False, True])
def test_point_error(benchmark, face_pair, scale: bool) -> None:
    pred, ref, face = face_pair
    benchmark(metrics.point_error, pred, ref, scale=scale, mask=face)


@pytest.mark.benchmark(group="icp")
def test_icp(benchmark) -> None:
    ref_v, ref_f = face_grid(6)
    src = face_grid(2)[0] @ rotation([0.08, -0.1, 0.06]).T + [4.0, -3.0, 5.0]
    result = benchmark.pedantic(metrics.icp, (src, ref_v, ref_f), rounds=1)
    assert result.error.median < 0.1
