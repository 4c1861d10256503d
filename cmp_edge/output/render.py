"""Pictures of meshes without a display or GPU: a C++ z-buffer rasteriser.

Conventions
-----------
Model space: x to the subject's side, **y up**, **+z toward the viewer** in
the front view (the default face model's nose points along +z).

A render maps each vertex ``v`` to view space ``view = scale * R @ v + t``
(units: pixels; x right, y up, z toward the viewer) and then to the image:
column ``view.x``, row ``H - view.y`` (the pixel in row r, column c covers
``[c, c + 1) x [r, r + 1)``, sampled at its centre). Orthographic projection,
per-pixel depth test (larger ``view.z`` wins), Lambertian shading with
per-pixel interpolated vertex normals, lit two-sided::

    intensity = ambient + (1 - ambient) * max(0, n . light_dir)
    colour    = albedo * intensity            (albedo in [0, 1])

``light_dir`` points from the surface toward the light, in view space; the
default (0, 0, 1) is a head light. Views: ``"front"`` is R = identity;
``"side"`` is a +90 degree rotation about y (the nose points to the image's
right; the subject's -x side faces the viewer).

:func:`render_mesh` and :func:`render_views` fit the mesh into the frame
unless ``scale`` (pixels per model unit) is given; :func:`overlay` takes an
explicit pose. PNG files: :func:`write_png`, :func:`read_png`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from cmp_edge.output.meshcheck import check_mesh, vertex_colors
from cmp_edge.output.png import read_png, write_png

__all__ = [
    "SIDE_ROTATION",
    "heatmap_colors",
    "overlay",
    "read_png",
    "render_mesh",
    "render_views",
    "view_rotation",
    "write_png",
]

#: Rotation of the "side" view: +90 degrees about y (model +z -> view +x).
SIDE_ROTATION = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]], dtype=np.float32)

_DEFAULT_COLOR = (204, 204, 204)


# Colour stops of heatmap_colors: dark blue, blue, cyan, yellow, red (RGB 0-255).
_HEAT_STOPS = np.array(
    [[20, 20, 120], [40, 90, 220], [60, 200, 220], [240, 220, 60], [200, 30, 30]],
    dtype=np.float64,
)


def heatmap_colors(
    values: npt.ArrayLike, vmin: float | None = None, vmax: float | None = None
) -> npt.NDArray[np.uint8]:
    """Per-vertex colours (N, 3) uint8 for a scalar field, e.g. per-vertex error in mm.

    Values are clipped to [vmin, vmax] (default: their min and max) and mapped
    linearly through dark blue, blue, cyan, yellow to red. NaN maps to grey.
    Pass the result as ``colors`` to :func:`render_mesh` or :func:`render_views`.

    Raises:
        ValueError: ``values`` is not 1-D, or vmax < vmin.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be 1-D (one per vertex), got shape {v.shape}")
    finite = v[np.isfinite(v)]
    lo = float(vmin) if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = float(vmax) if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if not hi >= lo:
        raise ValueError(f"vmax must be >= vmin, got {vmin} and {vmax}")
    t = np.clip((v - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(v)
    pos = np.nan_to_num(t, nan=0.0) * (len(_HEAT_STOPS) - 1)
    k = np.minimum(pos.astype(np.int64), len(_HEAT_STOPS) - 2)
    frac = (pos - k)[:, None]
    rgb = _HEAT_STOPS[k] * (1.0 - frac) + _HEAT_STOPS[k + 1] * frac
    rgb[~np.isfinite(v)] = 128.0
    return np.rint(rgb).astype(np.uint8)


def view_rotation(view: str | npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The (3, 3) float32 rotation of a named view ("front", "side") or a given matrix.

    Raises:
        ValueError: unknown name, wrong shape or non-finite matrix.
    """
    if isinstance(view, str):
        if view == "front":
            return np.eye(3, dtype=np.float32)
        if view == "side":
            return SIDE_ROTATION.copy()
        raise ValueError(f"view must be 'front', 'side' or a (3, 3) rotation, got {view!r}")
    rot = np.asarray(view, dtype=np.float32)
    if rot.shape != (3, 3) or not np.isfinite(rot).all():
        raise ValueError(f"rotation must be a finite (3, 3) matrix, got shape {rot.shape}")
    return rot


def _rgb(value: Sequence[float] | npt.ArrayLike, name: str) -> npt.NDArray[np.float32]:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.shape != (3,) or not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
        raise ValueError(f"{name} must be 3 values in 0-255, got {value!r}")
    return arr.astype(np.float32)


def _vec3(value: Sequence[float] | npt.ArrayLike, name: str) -> npt.NDArray[np.float32]:
    arr = np.asarray(value, dtype=np.float32).reshape(-1)
    if arr.shape != (3,) or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be 3 finite values, got {value!r}")
    return arr


def _image_size(size: int | tuple[int, int]) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, int | np.integer) else size
    if not (1 <= int(height) <= 65536 and 1 <= int(width) <= 65536):
        raise ValueError(f"size must be in 1..65536 pixels, got {size!r}")
    return int(height), int(width)


def _bbox_xy(
    verts: npt.NDArray[np.float32], rot: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Min and max (2,) of the rotated vertices' x and y (view units before scaling)."""
    xy = rot[:2] @ verts.T  # (2, N): row reductions are much faster than axis=0 on (N, 2)
    return xy.min(axis=1), xy.max(axis=1)


def _fit_scale(
    boxes: Sequence[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]],
    height: int,
    width: int,
    margin: float,
) -> float:
    """Pixels per unit so that every bounding box fits inside the frame minus margins."""
    extent = 0.0
    for lo, hi in boxes:
        span = hi - lo
        extent = max(extent, float(span[0]) / width, float(span[1]) / height)
    return (1.0 - 2.0 * margin) / extent if extent > 0 else 1.0


def _draw(
    image: npt.NDArray[np.uint8],
    verts: npt.NDArray[np.float32],
    tris: npt.NDArray[np.int32],
    rot: npt.NDArray[np.float32],
    scale: float,
    translation: npt.NDArray[np.float32],
    *,
    colors: npt.ArrayLike | None,
    color: Sequence[int],
    light_dir: Sequence[float],
    ambient: float,
    alpha: float,
    depth: npt.NDArray[np.float32] | None,
    threads: int,
) -> int:
    from cmp_edge._native import ext

    _C = ext()

    if not 0.0 <= ambient <= 1.0:
        raise ValueError(f"ambient must be in [0, 1], got {ambient}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    light = _vec3(light_dir, "light_dir")
    if not np.any(light):
        raise ValueError("light_dir must be non-zero")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be finite and > 0, got {scale}")
    if depth is not None and (depth.dtype != np.float32 or depth.shape != image.shape[:2]):
        raise ValueError(f"depth must be float32 with shape {image.shape[:2]}")
    return int(
        _C.render_mesh_into(
            image,
            verts,
            tris,
            vertex_colors(colors, len(verts), as_float=True),
            rot,
            float(scale),
            translation,
            light,
            float(ambient),
            float(alpha),
            _rgb(color, "color") / 255.0,
            depth,
            max(1, min(int(threads), os.cpu_count() or 1)),
        )
    )


def render_mesh(
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    size: int | tuple[int, int] = 256,
    view: str | npt.ArrayLike = "front",
    *,
    colors: npt.ArrayLike | None = None,
    color: Sequence[int] = _DEFAULT_COLOR,
    light_dir: Sequence[float] = (0.0, 0.0, 1.0),
    ambient: float = 0.25,
    background: Sequence[int] = (255, 255, 255),
    scale: float | None = None,
    center: Sequence[float] | None = None,
    margin: float = 0.05,
    depth: npt.NDArray[np.float32] | None = None,
    antialias: int = 1,
    threads: int = 1,
) -> npt.NDArray[np.uint8]:
    """Render a shaded triangle mesh orthographically.

    Args:
        vertices: (N, 3) positions in model units (e.g. mm), y up, +z toward
            the viewer of the front view.
        triangles: (F, 3) vertex indices (any integer dtype).
        size: image size in pixels, ``S`` for S x S or ``(H, W)``.
        view: "front", "side" (+90 degrees about y) or a (3, 3) rotation
            applied to the model before projection.
        colors: optional per-vertex albedo, (N, 3) uint8 (0-255) or float in
            [0, 1]; interpolated across triangles. Without it ``color`` is used.
        color: uniform albedo (0-255 per channel) when ``colors`` is None.
        light_dir: direction toward the light in view space (normalised
            inside); (0, 0, 1) is a head light.
        ambient: ambient fraction in [0, 1] (see the module docstring).
        background: RGB 0-255 of empty pixels.
        scale: pixels per model unit; None fits the rotated mesh's x/y
            bounding box into the frame minus ``margin`` on each side.
        center: model-space point placed at the image centre; None centres
            the rotated mesh's x/y bounding box.
        margin: fraction of the frame left empty on each side when fitting.
        depth: optional float32 (H, W) output: view-space z (pixels) of the
            visible surface, -inf where empty (only with ``antialias=1``).
        antialias: supersampling factor k: render at k times the size and
            average each k x k block (k = 2 or 3 smooths edges at k^2 cost).
        threads: row bands rendered in parallel (1 is usually fastest for
            small images).

    Returns:
        (H, W, 3) uint8 RGB image, rows top to bottom.

    Raises:
        ValueError: bad shapes, non-finite values or out-of-range options.
        IndexError: a triangle refers to a vertex that does not exist.
    """
    verts, tris = check_mesh(vertices, triangles, native_checked=True)
    height, width = _image_size(size)
    rot = view_rotation(view)
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    if not 1 <= antialias <= 8:
        raise ValueError(f"antialias must be an integer in 1..8, got {antialias}")
    if antialias > 1:
        if depth is not None:
            raise ValueError("depth output needs antialias=1")
        k = int(antialias)
        big = render_mesh(
            verts,
            tris,
            (height * k, width * k),
            rot,
            colors=colors,
            color=color,
            light_dir=light_dir,
            ambient=ambient,
            background=background,
            scale=None if scale is None else scale * k,
            center=center,
            margin=margin,
            threads=threads,
        )
        blocks = big.reshape(height, k, width, k, 3).astype(np.float32)
        return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)
    box = _bbox_xy(verts, rot) if len(verts) else None
    if scale is None:
        scale = _fit_scale([box], height, width, margin) if box is not None else 1.0
    translation = _placement(box, rot, float(scale), height, width, center)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[...] = _rgb(background, "background").astype(np.uint8)
    _draw(
        image,
        verts,
        tris,
        rot,
        float(scale),
        translation,
        colors=colors,
        color=color,
        light_dir=light_dir,
        ambient=ambient,
        alpha=1.0,
        depth=depth,
        threads=threads,
    )
    return image


def _placement(
    box: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None,
    rot: npt.NDArray[np.float32],
    scale: float,
    height: int,
    width: int,
    center: Sequence[float] | None,
) -> npt.NDArray[np.float32]:
    """Translation (pixels) that puts ``center`` (or the bbox centre) at the image centre."""
    if center is not None:
        mid = rot[:2] @ _vec3(center, "center")
    elif box is not None:
        mid = 0.5 * (box[0] + box[1])
    else:
        mid = np.zeros(2, dtype=np.float32)
    return np.array(
        [0.5 * width - scale * mid[0], 0.5 * height - scale * mid[1], 0.0], dtype=np.float32
    )


def render_views(
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    size: int = 256,
    *,
    colors: npt.ArrayLike | None = None,
    color: Sequence[int] = _DEFAULT_COLOR,
    light_dir: Sequence[float] = (0.0, 0.0, 1.0),
    ambient: float = 0.25,
    background: Sequence[int] = (255, 255, 255),
    margin: float = 0.05,
    antialias: int = 1,
    threads: int = 1,
) -> npt.NDArray[np.uint8]:
    """Front and side renders side by side, at one common scale.

    Arguments as in :func:`render_mesh`; each view is ``size`` x ``size``
    pixels and is centred on its own bounding box.

    Returns:
        (size, 2 * size, 3) uint8: the front view on the left, the side view
        on the right.
    """
    verts, tris = check_mesh(vertices, triangles, native_checked=True)
    height, width = _image_size(size)
    rotations = [view_rotation("front"), view_rotation("side")]
    boxes = [_bbox_xy(verts, rot) for rot in rotations] if len(verts) else []
    scale = _fit_scale(boxes, height, width, margin)
    panels = [
        render_mesh(
            verts,
            tris,
            (height, width),
            rot,
            colors=colors,
            color=color,
            light_dir=light_dir,
            ambient=ambient,
            background=background,
            scale=scale,
            antialias=antialias,
            threads=threads,
        )
        for rot in rotations
    ]
    return np.concatenate(panels, axis=1)


def overlay(
    image: npt.ArrayLike,
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    rotation: npt.ArrayLike,
    translation: Sequence[float] | npt.ArrayLike,
    scale: float,
    alpha: float = 0.6,
    *,
    colors: npt.ArrayLike | None = None,
    color: Sequence[int] = _DEFAULT_COLOR,
    light_dir: Sequence[float] = (0.0, 0.0, 1.0),
    ambient: float = 0.25,
    threads: int = 1,
) -> npt.NDArray[np.uint8]:
    """Draw the shaded mesh over ``image`` with a given pose; returns a new image.

    The pose maps model space to image space as ``p = scale * rotation @ v +
    translation`` where ``p`` is in pixels with x to the right from the left
    edge and **y up from the bottom edge** (as in 3DDFA's projected
    vertices); ``p.z`` only orders the surfaces (larger is nearer).

    Args:
        image: (H, W, 3) or (H, W, 4) uint8 (alpha is dropped) or (H, W) grey.
        vertices, triangles: the mesh, as in :func:`render_mesh`.
        rotation: (3, 3) matrix; translation: 3 values in pixels; scale:
            pixels per model unit (> 0).
        alpha: opacity of the mesh in [0, 1]; covered pixels become
            ``alpha * shaded + (1 - alpha) * image``.

    Returns:
        (H, W, 3) uint8.
    """
    base = np.asarray(image)
    if base.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {base.dtype}")
    if base.ndim == 2:
        base = np.repeat(base[:, :, None], 3, axis=2)
    if base.ndim != 3 or base.shape[2] not in (3, 4) or 0 in base.shape[:2]:
        raise ValueError(f"image must have shape (H, W), (H, W, 3) or (H, W, 4), got {base.shape}")
    out = np.ascontiguousarray(base[:, :, :3]).copy()
    verts, tris = check_mesh(vertices, triangles, native_checked=True)
    _draw(
        out,
        verts,
        tris,
        view_rotation(rotation),
        float(scale),
        _vec3(translation, "translation"),
        colors=colors,
        color=color,
        light_dir=light_dir,
        ambient=ambient,
        alpha=alpha,
        depth=None,
        threads=threads,
    )
    return out
