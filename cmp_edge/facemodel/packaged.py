"""The packaged default face model: ``cmp_edge/models/ict-head.npz``, memory-mapped.

Built from the ICT Face Model Light (USC Institute for Creative Technologies,
MIT licence; the notice is ``cmp_edge/models/ICT-FaceKit-LICENSE.txt``) by
``python -m cmp_edge.facemodel build-default`` (:mod:`cmp_edge.facemodel.ict_head`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData
from cmp_edge.facemodel.formats.npz import read_npz

__all__ = ["ATTRIBUTION", "DEFAULT_ID", "default_model_data", "packaged_path"]

DEFAULT_ID: Final = "ict-facekit-head-v1"
"""Id of the packaged default face model."""

ATTRIBUTION: Final = (
    "default face model: ICT Face Model Light (ICT-FaceKit), Copyright (c) 2020 USC "
    "Institute for Creative Technologies, MIT licence (cmp_edge/models/ICT-FaceKit-LICENSE.txt)"
)
"""One line crediting the default face model's source, as ``cmp-edge info`` prints it."""


def packaged_path() -> Path:
    """Path of the packaged default head (``cmp_edge/models/ict-head.npz``)."""
    return Path(__file__).resolve().parent.parent / "models" / "ict-head.npz"


def default_model_data() -> ModelData:
    """The packaged default head as ``FaceModel`` keyword arguments (arrays memory-mapped).

    Raises:
        FaceModelError: the file is missing or is not the default head (a broken install).
    """
    path = packaged_path()
    if not path.is_file():
        raise FaceModelError(
            f"{path}: the packaged default face model is missing; reinstall cmp-edge "
            "(or rebuild it: python -m cmp_edge.facemodel build-default ICT_FOLDER)"
        )
    data = read_npz(path)
    if data["id"] != DEFAULT_ID:
        raise FaceModelError(f"{path}: holds {data['id']!r}, not {DEFAULT_ID!r}; reinstall")
    return data
