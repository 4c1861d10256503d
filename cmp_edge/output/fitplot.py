"""Quality pictures of landmark fits: the fitted mesh over the photo, with the landmarks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cmp_edge.output.render import overlay

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.facemodel.model import FaceModel

__all__ = ["draw_fit", "draw_points"]

DETECTED = (40, 220, 40)
FITTED = (230, 40, 40)


def draw_points(
    image: np.ndarray, points: npt.ArrayLike, color: tuple[int, int, int], radius: int = 2
) -> None:
    """Draw filled squares of side ``2 * radius + 1`` at (K, 2) pixel positions (x right,
    y down; NaN rows skipped) into an (H, W, 3) uint8 image, in place."""
    h, w = image.shape[:2]
    for x, y in np.asarray(points, dtype=np.float64):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        xi, yi = int(round(x)), int(round(y))
        x0, x1 = max(xi - radius, 0), min(xi + radius + 1, w)
        y0, y1 = max(yi - radius, 0), min(yi + radius + 1, h)
        if x0 < x1 and y0 < y1:
            image[y0:y1, x0:x1] = color


def draw_fit(
    image: npt.ArrayLike,
    face_model: FaceModel,
    fit: Any,
    index: int = 0,
    *,
    detected: npt.ArrayLike | None = None,
    alpha: float = 0.5,
) -> npt.NDArray[np.uint8]:
    """The fitted mesh of image ``index`` drawn over it (as the paper's figure 4), with the
    detected landmarks (green) and the fitted ones (red).

    Args:
        image: (H, W, 3) or (H, W) uint8, the image the landmarks came from.
        face_model: the model that was fitted.
        fit: a :class:`cmp_edge.fitting.FitResult`.
        index: which of the fitted images this is.
        detected: (68, 2) detected landmarks in pixels (x right, y down), or None.
        alpha: opacity of the mesh.

    Returns:
        (H, W, 3) uint8, a new image.
    """
    verts = fit.vertices(face_model, index)
    radius = max(1, round(min(np.asarray(image).shape[:2]) / 300))
    out = overlay(
        image,
        verts,
        face_model.triangles,
        fit.rotation[index],
        fit.translation[index],
        float(fit.scale[index]),
        alpha=alpha,
    )
    if detected is not None:
        draw_points(out, detected, DETECTED, radius)
    draw_points(out, fit.fitted_px[index], FITTED, radius)
    return out
