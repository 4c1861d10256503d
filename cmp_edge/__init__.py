"""cmp-edge: a person's 3D face geometry from their voice (Cross-Modal Perceptionist).

Nothing heavy is imported here: submodules load on first use, so that
``import cmp_edge`` and the CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "Reconstructor": "cmp_edge.reconstructor",
    "Face": "cmp_edge.face",
    "FaceModel": "cmp_edge.facemodel",
    "LogMelOptions": "cmp_edge.features",
    "OnlineLogMel": "cmp_edge.features",
    "log_mel": "cmp_edge.features",
    "cmp_features": "cmp_edge.features",
}

__all__ = [
    "Face",
    "FaceModel",
    "LogMelOptions",
    "OnlineLogMel",
    "Reconstructor",
    "__version__",
    "cmp_features",
    "log_mel",
]

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.face import Face
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.features import LogMelOptions, OnlineLogMel, cmp_features, log_mel
    from cmp_edge.reconstructor import Reconstructor


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cmp_edge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
