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

__all__ = ["ARE_PAIRS", "FaceModel", "FaceModelError", "reconstruct_reference"]
