"""Heat-map pictures of a per-vertex error over a face (renderer: :mod:`cmp_edge.output.render`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["error_heatmap", "heatmap_grid"]


def error_heatmap(
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    per_vertex: npt.ArrayLike,
    *,
    vmax: float | None = None,
    size: int = 256,
    antialias: int = 2,
) -> npt.NDArray[np.uint8]:
    """Front | side render of a face coloured by a per-vertex error.

    Colours (:func:`~cmp_edge.output.render.heatmap_colors`): 0 dark blue, then
    blue, cyan, yellow, red at ``vmax`` and above; NaN (vertices outside the
    evaluated face) grey.

    Args:
        vertices: (N, 3) the face to draw (e.g. the model's mean shape), y up, +z out.
        triangles: (F, 3) its triangles.
        per_vertex: (N,) error (mm), NaN where undefined.
        vmax: the error drawn red (default: the 99th percentile of the finite values).
        size: pixels of each view.

    Returns:
        (size, 2 * size, 3) uint8 image.

    Raises:
        ValueError: ``per_vertex`` is not (N,).
    """
    from cmp_edge.output.render import heatmap_colors, render_views

    v = np.asarray(vertices, dtype=np.float32)
    err = np.asarray(per_vertex, dtype=np.float64)
    if err.shape != (len(v),):
        raise ValueError(f"per_vertex must have shape ({len(v)},), got {err.shape}")
    finite = err[np.isfinite(err)]
    if vmax is not None:
        top = float(vmax)
    else:
        top = float(np.percentile(finite, 99)) if finite.size else 1.0
    colors = heatmap_colors(err, vmin=0.0, vmax=max(top, 1e-12))
    return render_views(v, triangles, size, colors=colors, antialias=antialias)


def heatmap_grid(
    images: Sequence[npt.NDArray[np.uint8]], columns: int = 2, gap: int = 4
) -> npt.NDArray[np.uint8]:
    """Tile equally sized (H, W, 3) images row by row on a white background."""
    if not images:
        raise ValueError("no images to tile")
    h, w = images[0].shape[:2]
    if any(im.shape != images[0].shape for im in images):
        raise ValueError("images must share one shape")
    cols = max(1, min(columns, len(images)))
    rows = -(-len(images) // cols)
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), 255, np.uint8)
    for k, im in enumerate(images):
        r, c = divmod(k, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = im
    return out
