"""Mesh writing and rendering speed, against trimesh in the same run.

Run: ``python -m pytest benchmarks/test_mesh_render.py --benchmark-only``.
Groups: ``ply-write`` and ``obj-write`` (cmp-edge vs trimesh on the default
face model, the ICT head: 12,285 vertices and 24,203 triangles), ``render`` (256 x 256
front view, 128 x 128 synthetic-corpus style, 512 x 256 front|side) and
``png-write``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmp_edge.output import mesh, render

trimesh = pytest.importorskip("trimesh")


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The default face model's mean mesh (12,285 vertices) and random vertex colours."""
    from cmp_edge.facemodel import FaceModel

    model = FaceModel.default()
    verts = np.ascontiguousarray(model.mean, dtype=np.float32)
    rng = np.random.default_rng(0)
    colors = rng.integers(0, 256, (len(verts), 3), dtype=np.uint8)
    return verts, np.ascontiguousarray(model.triangles, dtype=np.int32), colors


@pytest.fixture(scope="module")
def face_trimesh(face):
    verts, faces, _ = face
    return trimesh.Trimesh(vertices=verts, faces=faces, process=False)


@pytest.mark.benchmark(group="ply-write")
def test_ply_cmp_edge(benchmark, face, tmp_path: Path) -> None:
    verts, faces, _ = face
    benchmark(mesh.write_ply, tmp_path / "a.ply", verts, faces)


@pytest.mark.benchmark(group="ply-write")
def test_ply_trimesh(benchmark, face_trimesh, tmp_path: Path) -> None:
    benchmark(face_trimesh.export, str(tmp_path / "a.ply"))


@pytest.mark.benchmark(group="obj-write")
def test_obj_cmp_edge(benchmark, face, tmp_path: Path) -> None:
    verts, faces, _ = face
    benchmark(mesh.write_obj, tmp_path / "a.obj", verts, faces)


@pytest.mark.benchmark(group="obj-write")
def test_obj_cmp_edge_colored(benchmark, face, tmp_path: Path) -> None:
    verts, faces, colors = face
    benchmark(mesh.write_obj, tmp_path / "a.obj", verts, faces, colors)


@pytest.mark.benchmark(group="obj-write")
def test_obj_trimesh(benchmark, face_trimesh, tmp_path: Path) -> None:
    benchmark(face_trimesh.export, str(tmp_path / "a.obj"))


@pytest.mark.benchmark(group="render")
def test_render_front_256(benchmark, face) -> None:
    verts, faces, _ = face
    image = benchmark(render.render_mesh, verts, faces, 256)
    assert image.shape == (256, 256, 3)


@pytest.mark.benchmark(group="render")
def test_render_colored_128(benchmark, face) -> None:
    verts, faces, colors = face
    image = benchmark(
        render.render_mesh, verts, faces, 128, colors=colors, light_dir=(0.4, 0.3, 1.0)
    )
    assert image.shape == (128, 128, 3)


@pytest.mark.benchmark(group="render")
def test_render_views_256(benchmark, face) -> None:
    verts, faces, _ = face
    image = benchmark(render.render_views, verts, faces, 256)
    assert image.shape == (256, 512, 3)


@pytest.mark.benchmark(group="png-write")
def test_png_write_256(benchmark, face, tmp_path: Path) -> None:
    verts, faces, _ = face
    image = render.render_mesh(verts, faces, 256)
    benchmark(render.write_png, tmp_path / "a.png", image)
