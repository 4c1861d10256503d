"""Rasteriser sanity: silhouettes against analytic shapes, depth order, views, overlay."""

from __future__ import annotations

import numpy as np
import pytest

from cmp_edge.output import render

from .meshes import bumpy_head, grid, uv_sphere

BG = (10, 20, 30)


@pytest.fixture(scope="module")
def sphere() -> tuple[np.ndarray, np.ndarray]:
    return uv_sphere(1.0, 64, 128)


def _mask(depth: np.ndarray) -> np.ndarray:
    return np.isfinite(depth)


def test_sphere_silhouette_matches_disk(sphere) -> None:
    verts, faces = sphere
    depth = np.empty((200, 200), dtype=np.float32)
    image = render.render_mesh(
        verts, faces, 200, scale=80.0, center=(0, 0, 0), background=BG, depth=depth
    )
    mask = _mask(depth)
    # polygonal sphere: silhouette between the inscribed and the circumscribed disk
    area = mask.sum()
    assert np.pi * (80 * np.cos(np.pi / 128)) ** 2 * 0.99 < area < np.pi * 80**2 * 1.01
    rows, cols = np.nonzero(mask)
    assert abs(rows.mean() - 99.5) < 0.25 and abs(cols.mean() - 99.5) < 0.25
    # background untouched, covered pixels shaded
    np.testing.assert_array_equal(image[~mask], np.broadcast_to(BG, (int((~mask).sum()), 3)))
    assert abs(float(depth[100, 100]) - 80.0) < 0.5  # front pole at z = +r, toward the viewer
    assert depth[mask].min() > -1.0  # only the front hemisphere is visible


def test_head_light_shading(sphere) -> None:
    verts, faces = sphere
    image = render.render_mesh(
        verts, faces, 200, scale=80.0, center=(0, 0, 0), color=(200, 100, 50), ambient=0.2
    )
    # centre faces the head light: full albedo; near the rim: close to ambient
    np.testing.assert_allclose(image[100, 100], (200, 100, 50), atol=2)
    rim = image[100, 21].astype(float)
    assert np.all(rim < 0.45 * np.array([200, 100, 50]) + 1)
    assert np.all(rim >= 0.2 * np.array([200, 100, 50]) - 1)


def test_light_direction(sphere) -> None:
    verts, faces = sphere
    image = render.render_mesh(verts, faces, 100, light_dir=(1, 0, 0.2), ambient=0.0)
    gray = image.astype(float).sum(axis=2)
    assert gray[50, 80] > 3 * gray[50, 20]  # light from +x: the image's right side is lit


def test_orientation_front_and_side() -> None:
    # a small marker quad at +x and one at +y on a sphere: where do they land?
    verts, faces = uv_sphere(1.0, 16, 32)
    depth_front = np.empty((100, 100), dtype=np.float32)
    render.render_mesh(
        verts + [3, 0, 0], faces, 100, scale=10.0, center=(0, 0, 0), depth=depth_front
    )
    rows, cols = np.nonzero(_mask(depth_front))
    assert cols.mean() == pytest.approx(50 + 30, abs=0.5)  # +x -> right
    render.render_mesh(
        verts + [0, 3, 0], faces, 100, scale=10.0, center=(0, 0, 0), depth=depth_front
    )
    rows, cols = np.nonzero(_mask(depth_front))
    assert rows.mean() == pytest.approx(50 - 30, abs=0.5)  # +y -> up
    render.render_mesh(
        verts + [0, 0, 3], faces, 100, "side", scale=10.0, center=(0, 0, 0), depth=depth_front
    )
    rows, cols = np.nonzero(_mask(depth_front))
    assert cols.mean() == pytest.approx(50 + 30, abs=0.5)  # side view: +z (nose) -> right


def test_nearer_triangle_wins_in_either_order() -> None:
    tri = np.array([[-1, -1, 0], [1, -1, 0], [0, 1, 0]], dtype=np.float32)
    verts = np.concatenate([tri, tri * 0.5 + [0, 0, 1]])  # the small one is nearer (+z)
    colors = np.array([[255, 0, 0]] * 3 + [[0, 255, 0]] * 3, dtype=np.uint8)
    for faces in ([[0, 1, 2], [3, 4, 5]], [[3, 4, 5], [0, 1, 2]]):
        image = render.render_mesh(
            verts, faces, 64, colors=colors, scale=20.0, center=(0, 0, 0), ambient=1.0
        )
        np.testing.assert_array_equal(image[32, 32], (0, 255, 0))
        np.testing.assert_array_equal(image[47, 32], (255, 0, 0))  # only the big one there


def test_winding_does_not_matter(sphere) -> None:
    verts, faces = sphere
    a = render.render_mesh(verts, faces, 96)
    b = render.render_mesh(verts, faces[:, ::-1], 96)
    np.testing.assert_array_equal(a, b)


def test_views_differ_and_fit_common_scale() -> None:
    verts, faces = bumpy_head(5000)  # about 150 mm wide, 170 mm deep, 200 mm tall
    views = render.render_views(verts, faces, 128, background=BG)
    assert views.shape == (128, 256, 3) and views.dtype == np.uint8
    front, side = views[:, :128], views[:, 128:]
    assert not np.array_equal(front, side)
    covered = [np.any(v != BG, axis=2) for v in (front, side)]
    widths = [np.ptp(np.nonzero(c.any(axis=0))[0]) + 1 for c in covered]
    heights = [np.ptp(np.nonzero(c.any(axis=1))[0]) + 1 for c in covered]
    assert widths[1] > widths[0] * 1.05  # deeper than wide
    assert abs(heights[0] - heights[1]) <= 1  # one scale for both panels
    assert max(heights) <= 128 * 0.9 + 1  # 5 % margins


def test_deterministic_and_thread_independent() -> None:
    verts, faces = bumpy_head(20000)
    colors = (np.abs(verts) / np.abs(verts).max(axis=0) * 255).astype(np.uint8)
    a = render.render_mesh(verts, faces, 160, colors=colors, light_dir=(0.3, 0.5, 1))
    b = render.render_mesh(verts, faces, 160, colors=colors, light_dir=(0.3, 0.5, 1))
    c = render.render_mesh(verts, faces, 160, colors=colors, light_dir=(0.3, 0.5, 1), threads=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_vertex_colors_interpolate() -> None:
    verts, faces = grid(2, 2, 2.0, 2.0)  # square from x = -1 (black) to +1 (white)
    colors = np.where(verts[:, :1] > 0, 1.0, 0.0).repeat(3, axis=1)
    image = render.render_mesh(
        verts, faces, 101, colors=colors, scale=50.0, center=(0, 0, 0), ambient=1.0
    )
    row = image[50, :, 0].astype(float)
    assert row[1] < 5 and row[-2] > 250
    assert np.all(np.diff(row[1:-1]) >= 0)  # monotone ramp
    assert row[50] == pytest.approx(127.5, abs=3)


def test_overlay_pose_and_alpha() -> None:
    verts, faces = uv_sphere(1.0, 16, 32)
    base = np.full((80, 120, 3), 100, dtype=np.uint8)
    pose = (verts, faces, np.eye(3), (90.0, 20.0, 0.0), 10.0)
    style = {"alpha": 0.5, "color": (255, 255, 255), "ambient": 1.0}
    out = render.overlay(base, *pose, **style)
    assert out.shape == base.shape and base[0, 0, 0] == 100  # input untouched
    changed = np.any(out != base, axis=2)
    rows, cols = np.nonzero(changed)
    assert cols.mean() == pytest.approx(90 - 0.5, abs=0.5)
    assert rows.mean() == pytest.approx(80 - 20 - 0.5, abs=0.5)  # y up from the bottom edge
    np.testing.assert_array_equal(out[60, 90], (178, 178, 178))  # 0.5*255 + 0.5*100, rounded
    rgba = np.dstack([base, np.full((80, 120), 255, np.uint8)])
    np.testing.assert_array_equal(render.overlay(rgba, *pose, **style), out)


def test_mesh_outside_the_frame_and_empty_mesh() -> None:
    verts, faces = uv_sphere(1.0, 8, 16)
    image = render.render_mesh(
        verts + [1000, 0, 0], faces, 32, scale=1.0, center=(0, 0, 0), background=BG
    )
    assert np.all(image == BG)
    empty = render.render_mesh(np.zeros((0, 3)), np.zeros((0, 3), int), 16, background=BG)
    assert np.all(empty == BG)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"view": "top"}, ValueError, "view"),
        ({"view": np.eye(2)}, ValueError, "rotation"),
        ({"ambient": 1.5}, ValueError, "ambient"),
        ({"light_dir": (0, 0, 0)}, ValueError, "light_dir"),
        ({"size": 0}, ValueError, "size"),
        ({"colors": np.zeros((3, 3))}, ValueError, "colors"),
        ({"background": (0, 0, 256)}, ValueError, "background"),
        ({"scale": -1.0}, ValueError, "scale"),
    ],
)
def test_bad_arguments(sphere, kwargs, error, match) -> None:
    verts, faces = sphere
    with pytest.raises(error, match=match):
        render.render_mesh(verts, faces, **kwargs)


def test_bad_meshes() -> None:
    verts, faces = uv_sphere(1.0, 4, 8)
    with pytest.raises(IndexError, match="refers to"):
        render.render_mesh(verts, faces + 1, 16)
    with pytest.raises(IndexError, match="refers to"):
        render.render_mesh(verts, faces.astype(np.int64) + 2**32, 16)  # must not wrap to int32
    bad = verts.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        render.render_mesh(bad, faces, 16, scale=1.0, center=(0, 0, 0))
    with pytest.raises(ValueError, match="triangles"):
        render.render_mesh(verts, faces[:, :2], 16)
    with pytest.raises(ValueError, match="uint8"):
        render.overlay(np.zeros((4, 4, 3)), verts, faces, np.eye(3), (0, 0, 0), 1.0)


def test_antialias_averages_a_supersampled_render(sphere) -> None:
    verts, faces = sphere
    big = render.render_mesh(verts, faces, 96, scale=90.0, center=(0, 0, 0), background=BG)
    small = render.render_mesh(
        verts, faces, 32, scale=30.0, center=(0, 0, 0), background=BG, antialias=3
    )
    expected = np.rint(big.reshape(32, 3, 32, 3, 3).astype(np.float32).mean(axis=(1, 3)))
    np.testing.assert_array_equal(small, expected.astype(np.uint8))
    assert render.render_views(verts, faces, 32, antialias=2).shape == (32, 64, 3)
    with pytest.raises(ValueError, match="antialias"):
        render.render_mesh(verts, faces, 16, antialias=0)
    with pytest.raises(ValueError, match="depth"):
        render.render_mesh(
            verts, faces, 16, antialias=2, depth=np.empty((16, 16), dtype=np.float32)
        )


def test_native_entry_point_checks_its_buffers() -> None:
    from cmp_edge import _C

    verts, faces = uv_sphere(1.0, 4, 8)
    args = (np.eye(3), 1.0, np.zeros(3), np.array([0, 0, 1.0]), 0.2, 1.0, np.ones(3))
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    assert _C.render_mesh_into(image, verts * 3 + 4, faces, None, *args) > 0
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.render_mesh_into(
            np.zeros((8, 3, 8), np.uint8).transpose(0, 2, 1), verts, faces, None, *args
        )
    with pytest.raises(ValueError, match="uint8"):
        _C.render_mesh_into(image.astype(np.float32), verts, faces, None, *args)
    with pytest.raises(ValueError, match="depth"):
        _C.render_mesh_into(image, verts, faces, None, *args, np.zeros((8, 8)))
    with pytest.raises(ValueError, match="colors"):
        _C.render_mesh_into(image, verts, faces, np.zeros((2, 3)), *args)


def test_heatmap_colors() -> None:
    colors = render.heatmap_colors([0.0, 1.0, 2.0, 4.0, np.nan, -5.0, 9.0], vmin=0.0, vmax=4.0)
    assert colors.shape == (7, 3) and colors.dtype == np.uint8
    np.testing.assert_array_equal(colors[0], (20, 20, 120))  # low end
    np.testing.assert_array_equal(colors[3], (200, 30, 30))  # high end
    np.testing.assert_array_equal(colors[1], (40, 90, 220))  # first inner stop at 1/4
    np.testing.assert_array_equal(colors[2], (60, 200, 220))  # middle stop
    np.testing.assert_array_equal(colors[4], (128, 128, 128))  # NaN
    np.testing.assert_array_equal(colors[5], colors[0])  # clipped
    np.testing.assert_array_equal(colors[6], colors[3])
    auto = render.heatmap_colors(np.array([3.0, 5.0]))
    np.testing.assert_array_equal(auto, [(20, 20, 120), (200, 30, 30)])
    assert np.all(render.heatmap_colors(np.ones(3)) == (20, 20, 120))  # constant field
    with pytest.raises(ValueError, match="1-D"):
        render.heatmap_colors(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="vmax"):
        render.heatmap_colors([1.0], vmin=2.0, vmax=1.0)


def test_huge_partly_visible_triangle() -> None:
    # one vertex far outside the frame: the visible part is still a clean wedge
    verts = np.array([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1e30, 0.0]], dtype=np.float32)
    depth = np.empty((20, 20), dtype=np.float32)
    render.render_mesh(verts, [[0, 1, 2]], 20, scale=5.0, center=(0, 0, 0), depth=depth)
    mask = np.isfinite(depth)
    # x in [-1, 1] (columns 5..14) from y = -1 (row 14) up to the top edge
    expected = np.zeros((20, 20), dtype=bool)
    expected[:15, 5:15] = True
    np.testing.assert_array_equal(mask, expected)


def test_colors_checked_alike_for_render_and_mesh(sphere, tmp_path) -> None:  # noqa: ANN001
    """One rule for vertex colours: integers in 0-255 or floats in [0, 1]."""
    from cmp_edge.output import mesh

    verts, faces = sphere
    n = len(verts)
    rgb = np.random.default_rng(3).integers(0, 256, (n, 3))
    kwargs = {"scale": 40.0, "center": (0, 0, 0)}
    ref = render.render_mesh(verts, faces, 48, colors=rgb.astype(np.uint8), **kwargs)
    for colors in (rgb.astype(np.int32), rgb.astype(np.float32) / 255.0):
        np.testing.assert_array_equal(
            render.render_mesh(verts, faces, 48, colors=colors, **kwargs), ref
        )
        np.testing.assert_array_equal(mesh.vertex_colors(colors, n), rgb.astype(np.uint8))
    for bad, message in (
        (rgb.astype(np.int32) + 1, "0-255"),
        (rgb.astype(np.float32), r"\[0, 1\]"),
        (np.full((n, 3), np.nan), r"\[0, 1\]"),
        (np.ones((n, 3), bool), "integers in 0-255 or floats"),
        (rgb[:-1], "shape"),
    ):
        with pytest.raises(ValueError, match=message):
            render.render_mesh(verts, faces, 48, colors=bad, **kwargs)
        with pytest.raises(ValueError, match=message):
            mesh.save_mesh(tmp_path / "m.ply", verts, faces, bad)
