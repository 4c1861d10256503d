"""Exception types of cmp-edge.

Every error a user can cause derives from :class:`CmpEdgeError` (a
``ValueError``), carries a one-line message saying which file or argument is
wrong and what to do, and is printed by the CLI as that one line.
"""

from __future__ import annotations

__all__ = [
    "AudioError",
    "AudioTooLongError",
    "CmpEdgeError",
    "FaceModelError",
    "MeshError",
    "FittingError",
    "ModelError",
    "NoSpeechError",
    "OutputError",
    "UnreadableAudioError",
]


class CmpEdgeError(ValueError):
    """Base class of all user-facing errors (bad input, bad files, bad options)."""


class AudioError(CmpEdgeError):
    """An audio file or sample array cannot be used (unreadable, empty, NaN, bad rate)."""


class AudioTooLongError(AudioError):
    """The audio is longer than the duration limit in force (the service answers 413)."""


class UnreadableAudioError(AudioError):
    """The data is not audio in any format libsndfile or FFmpeg reads, or holds no
    audio track (the service answers 415)."""


class NoSpeechError(AudioError):
    """The audio holds no voiced speech after voice activity detection."""


class FaceModelError(CmpEdgeError):
    """A face-model file is missing, truncated, or of an unknown format."""


class ModelError(CmpEdgeError):
    """An ONNX model or bundle is missing, malformed, or does not fit the face model."""


class MeshError(CmpEdgeError):
    """A mesh file (e.g. a reference scan) cannot be read or used for comparison."""


class OutputError(CmpEdgeError):
    """An output path cannot be written (exists without --force, unwritable folder)."""


class FittingError(CmpEdgeError):
    """Landmarks cannot be fitted (wrong shape, too few valid points, no ibug landmarks)."""
