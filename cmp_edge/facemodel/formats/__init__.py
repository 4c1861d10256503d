"""Face-model file formats: one reader module per format, and the registry that picks one.

Each reader returns :func:`~cmp_edge.facemodel.formats._data.model_data` (the
keyword arguments of ``FaceModel``); ``FaceModel.load`` builds the model from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData

__all__ = ["FORMATS", "ModelData", "detect_format", "read_face_model"]

FORMATS = ("npz", "bfm", "sfm", "synergynet", "ict")
"""Names of the supported formats (see :func:`detect_format`)."""


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of :data:`FORMATS`; raises FaceModelError if unknown.

    Folders: an ICT-FaceKit ``FaceXModel`` folder (or the ICT-FaceKit folder
    holding it) is "ict", a folder of u.npy / w_shp.npy / w_exp.npy "synergynet".
    """
    p = Path(path)
    if p.is_dir():
        from cmp_edge.facemodel.formats.ict import is_ict_folder

        if is_ict_folder(p) or is_ict_folder(p / "FaceXModel"):
            return "ict"
        if (p / "u.npy").is_file():
            return "synergynet"
        raise FaceModelError(
            f"{p}: neither an ICT-FaceKit FaceXModel folder (generic_neutral_mesh.obj, "
            "vertex_indices.json) nor a folder of u.npy / w_shp.npy / w_exp.npy"
        )
    if not p.is_file():
        raise FaceModelError(f"{p}: no such face-model file")
    with p.open("rb") as f:
        head = f.read(128)
    suffix = p.suffix.lower()
    if head.startswith(b"MATLAB") or suffix == ".mat":
        return "bfm"
    if head.startswith(b"PK\x03\x04"):
        if suffix == ".npz":
            return "npz"
        import zipfile

        try:
            with zipfile.ZipFile(p) as zf:
                if any(n.endswith("meta.npy") for n in zf.namelist()):
                    return "npz"
        except zipfile.BadZipFile:
            raise FaceModelError(f"{p}: damaged zip file") from None
        return "synergynet"
    if head.startswith(b"\x93NUMPY") or head.startswith(b"\x80") or suffix in {".pkl", ".npy"}:
        return "synergynet"
    if suffix == ".bin":
        return "sfm"
    if suffix in {".pth", ".pt", ".tar"}:
        return "synergynet"
    raise FaceModelError(
        f"{p}: unknown face-model format (expected .npz, BFM .mat, SFM .bin, or a "
        "SynergyNet/3DDFA checkpoint, .pkl or .npy)"
    )


def _reader(fmt: str) -> Callable[[str | os.PathLike[str]], ModelData]:
    if fmt == "npz":
        from cmp_edge.facemodel.formats.npz import read_npz

        return read_npz
    if fmt == "bfm":
        from cmp_edge.facemodel.formats.bfm import read_bfm

        return read_bfm
    if fmt == "ict":
        from cmp_edge.facemodel.formats.ict import read_ict

        return read_ict
    if fmt == "sfm":
        from cmp_edge.facemodel.formats.sfm import read_sfm

        return read_sfm
    from cmp_edge.facemodel.formats.synergynet import read_synergynet

    return read_synergynet


def read_face_model(path: str | os.PathLike[str]) -> ModelData:
    """Read any supported face-model file (format by content, then suffix).

    Returns:
        The keyword arguments of ``FaceModel``.

    Raises:
        FaceModelError: unknown format, missing or malformed file.
    """
    return _reader(detect_format(path))(Path(path))
