"""Face models: the FaceModel class, loaders for real formats, the embedded default model.

    >>> from cmp_edge.facemodel import FaceModel
    >>> fm = FaceModel.default()            # synthetic stand-in, ~50k vertices, mm
    >>> v = fm.reconstruct(np.zeros(40))    # (N, 3) float32

Command line: ``python -m cmp_edge.facemodel convert IN OUT`` writes any
supported model as cmp-edge .npz.
"""

from __future__ import annotations

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.model import ARE_PAIRS, FaceModel
from cmp_edge.facemodel.reference import reconstruct_reference

__all__ = [
    "ARE_PAIRS",
    "FaceModel",
    "FaceModelError",
    "load_bfm",
    "load_npz",
    "load_sfm",
    "load_synergynet",
    "reconstruct_reference",
]


def __getattr__(name: str) -> object:
    # loaders import lazily (scipy etc. only when used)
    modules = {
        "load_bfm": "bfm",
        "load_npz": "npz",
        "load_sfm": "sfm",
        "load_synergynet": "synergynet",
    }
    if name in modules:
        import importlib

        return getattr(importlib.import_module(f"cmp_edge.facemodel.{modules[name]}"), name)
    raise AttributeError(f"module 'cmp_edge.facemodel' has no attribute {name!r}")
