"""Pick the right face-model loader for a path (by content first, then by suffix)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cmp_edge.errors import FaceModelError

if TYPE_CHECKING:
    from cmp_edge.facemodel.model import FaceModel

__all__ = ["detect_format", "load_face_model"]


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of "npz", "bfm", "sfm", "synergynet"; raises FaceModelError if unknown."""
    p = Path(path)
    if p.is_dir():
        if (p / "u.npy").is_file():
            return "synergynet"
        raise FaceModelError(f"{p}: folder without u.npy / w_shp.npy / w_exp.npy")
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


def load_face_model(path: str | os.PathLike[str]) -> FaceModel:
    """Load any supported face-model file (see FaceModel.load)."""
    fmt = detect_format(path)
    if fmt == "npz":
        from cmp_edge.facemodel.npz import load_npz

        return load_npz(path)
    if fmt == "bfm":
        from cmp_edge.facemodel.bfm import load_bfm

        return load_bfm(path)
    if fmt == "sfm":
        from cmp_edge.facemodel.sfm import load_sfm

        return load_sfm(path)
    from cmp_edge.facemodel.synergynet import load_synergynet

    return load_synergynet(path)
