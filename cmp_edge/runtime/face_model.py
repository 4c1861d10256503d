"""Which face model a bundle is reconstructed with, and the check that it fits."""

from __future__ import annotations

import os

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel import FaceModel
from cmp_edge.facemodel.formats.npz import read_npz
from cmp_edge.model.bundle import BundleInfo

__all__ = ["resolve_face_model"]


def resolve_face_model(
    info: BundleInfo, face_model: FaceModel | str | os.PathLike[str] | None
) -> FaceModel:
    """The face model a bundle's parameters are reconstructed with.

    Args:
        info: the bundle's metadata.
        face_model: a :class:`FaceModel`, a face-model file, or None: the ``.npz``
            named in the bundle (a bare name beside it), else the built-in default
            when the bundle was made for it.

    Raises:
        FaceModelError: missing or unreadable file, or a model whose id or sizes do not
            match the bundle's.
    """
    where: str
    if isinstance(face_model, FaceModel):
        fm, where = face_model, "face model"
    elif face_model is not None:
        where = str(face_model)
        fm = FaceModel.load(face_model)
    elif info.face_model_file is not None:
        where = str(info.face_model_file)
        if not info.face_model_file.is_file():
            raise FaceModelError(
                f"{where}: the face model named by {info.path.name} is missing; "
                "keep it beside the .onnx file or pass face_model=..."
            )
        # Only cmp-edge's own .npz format, whatever the file holds (see bundle.py).
        fm = FaceModel(**read_npz(info.face_model_file))
    else:
        default = FaceModel.default()
        if info.face_model_id != default.id:
            raise FaceModelError(
                f"{info.path}: the model needs face model {info.face_model_id!r}; "
                "pass its file as face_model=..."
            )
        fm, where = default, "default face model"
    fm.check_matches(
        info.face_model_id,
        info.face_model_dims,
        where=where,
        needed_by="model",
        fix=f"pass the face model {info.path.name} was exported with",
    )
    return fm
