"""What a face-model reader returns: the keyword arguments of ``FaceModel``.

Readers never import :class:`~cmp_edge.facemodel.model.FaceModel` (which imports
them); they return :func:`model_data` and the caller builds and validates the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy.typing as npt

__all__ = ["ModelData", "model_data"]

ModelData = dict[str, Any]
"""Keyword arguments of ``FaceModel(...)``."""


def model_data(
    mean: npt.ArrayLike,
    shape_basis: npt.ArrayLike,
    expr_basis: npt.ArrayLike | None,
    triangles: npt.ArrayLike,
    landmarks: Mapping[str, int] | None = None,
    shape_std: npt.ArrayLike | None = None,
    expr_std: npt.ArrayLike | None = None,
    units: str = "mm",
    id: str = "custom",  # noqa: A002 - FaceModel's name
    *,
    source_scale: float = 1.0,
    shape_names: Sequence[str] | None = None,
    expr_names: Sequence[str] | None = None,
    regions: Mapping[str, npt.ArrayLike] | None = None,
) -> ModelData:
    """The arguments of ``FaceModel`` (same names, order and meaning) as a dict."""
    return {
        "mean": mean,
        "shape_basis": shape_basis,
        "expr_basis": expr_basis,
        "triangles": triangles,
        "landmarks": landmarks,
        "shape_std": shape_std,
        "expr_std": expr_std,
        "units": units,
        "id": id,
        "source_scale": source_scale,
        "shape_names": shape_names,
        "expr_names": expr_names,
        "regions": regions,
    }
