"""3DMM fitting to 2D landmarks: photo landmarks -> 3D face (NumPy/SciPy only, no torch).

    >>> from cmp_edge.facemodel import FaceModel
    >>> from cmp_edge.fitting import fit_landmarks
    >>> fit = fit_landmarks(FaceModel.default(), points, image_size=(640, 480))
    >>> fit.shape, fit.expr[0], fit.rotation[0], fit.rms_px[0]

``points`` are ibug-68 landmarks in pixels (x right, y down, origin top-left), one
(68, 2) array per image; several images of one person share one identity.
"""

from __future__ import annotations

from cmp_edge.errors import FittingError
from cmp_edge.fitting.camera import euler_rotation, rotation_angles
from cmp_edge.fitting.fit import FitResult, fit_landmarks, ibug_vertices

__all__ = [
    "FitResult",
    "FittingError",
    "euler_rotation",
    "fit_landmarks",
    "ibug_vertices",
    "rotation_angles",
]
