"""ibug-68 landmarks: MediaPipe's face mesh mapped to ibug-68, or precomputed JSON files.

MediaPipe 0.10.x wheels carry the face detector and the 468-point mesh model inside the
package and run offline; the ibug-68 points are read off the mesh with the stored
correspondence ``ibug68_mediapipe.json`` (beside this file).

Precomputed landmarks (any detector): a JSON file beside the photo or video, named
``<file name>.landmarks.json`` (e.g. ``me.jpg.landmarks.json``), with pixels of the
upright image (x right, y down)::

    {"faces": [[[x, y], ... 68 points], ...]}                 photo
    {"frames": [{"time": 1.5, "faces": [[[x, y], ...]]}, ...]}  video (time in seconds)

("landmarks": one face instead of "faces" is accepted too.)

Which face is used (:func:`choose_face`): the largest (outer-eye-corner distance); an
image where a second face is at least :data:`RIVAL_RATIO` of its size is refused as
ambiguous; faces whose eye distance is under ``min_eye_px`` pixels, or whose landmarks
come within 1 % of the image size of the border, are refused.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge.errors import CmpEdgeError

__all__ = [
    "RIVAL_RATIO",
    "DetectedFace",
    "MediaPipeDetector",
    "choose_face",
    "ibug_from_mediapipe",
    "read_sidecar",
    "sidecar_path",
]

RIVAL_RATIO = 0.7
_MAX_SIDECAR_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class DetectedFace:
    """(68, 2) float64 ibug landmarks in pixels (x right, y down) of the image searched."""

    points: np.ndarray

    @property
    def eye_distance(self) -> float:
        """Outer-eye-corner distance (ibug 36-45), pixels."""
        return float(np.linalg.norm(self.points[45] - self.points[36]))


@cache
def ibug_from_mediapipe() -> np.ndarray:
    """(68,) int64 MediaPipe mesh vertex of each ibug landmark (the stored table)."""
    data = json.loads((Path(__file__).with_name("ibug68_mediapipe.json")).read_text())
    idx = np.asarray(data["ibug_to_mediapipe"], dtype=np.int64)
    assert idx.shape == (68,) and len(set(idx.tolist())) == 68 and idx.max() < 468
    return idx


class MediaPipeDetector:
    """MediaPipe face mesh (static images, up to ``max_faces`` faces), ibug-68 output.

    Raises:
        CmpEdgeError: MediaPipe is not installed (``pip install -e ".[detect]"``).
    """

    def __init__(self, max_faces: int = 4, min_confidence: float = 0.5) -> None:
        # MediaPipe's C++ logging (glog/absl) and TensorFlow Lite: errors only
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # protobuf 4's deprecation notice, printed by MediaPipe's every result
        warnings.filterwarnings(
            "ignore", r"SymbolDatabase\.GetPrototype\(\) is deprecated", UserWarning
        )
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError:
            raise CmpEdgeError(
                "MediaPipe is not installed in this environment; run train.prepare from "
                "the detector's environment (docs/prepare.md: .venv-detect with "
                "'.[prepare,detect]'), or give precomputed <file>.landmarks.json files"
            ) from None
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=max_faces,
            refine_landmarks=False,
            min_detection_confidence=min_confidence,
        )

    def __call__(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Faces in an (H, W, 3) uint8 RGB image."""
        h, w = rgb.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(rgb))
        out = []
        for face in result.multi_face_landmarks or []:
            pts = np.array([(p.x * w, p.y * h) for p in face.landmark], dtype=np.float64)
            out.append(DetectedFace(pts[ibug_from_mediapipe()]))
        return out

    def close(self) -> None:
        """Release the MediaPipe graph."""
        self._mesh.close()


def choose_face(
    faces: list[DetectedFace], width: int, height: int, min_eye_px: float
) -> tuple[DetectedFace | None, str]:
    """The face to use in one image, or None and the reason (see the module docstring)."""
    if not faces:
        return None, "no face found"
    ranked = sorted(faces, key=lambda f: f.eye_distance, reverse=True)
    best = ranked[0]
    if len(ranked) > 1 and ranked[1].eye_distance >= RIVAL_RATIO * best.eye_distance:
        return None, f"{len(ranked)} faces of similar size; crop the image to one person"
    if best.eye_distance < min_eye_px:
        return None, f"face too small ({best.eye_distance:.0f} px between the eyes)"
    margin = 0.01 * max(width, height)
    p = best.points
    if (
        not np.all(np.isfinite(p))
        or p[:, 0].min() < margin
        or p[:, 1].min() < margin
        or p[:, 0].max() > width - margin
        or p[:, 1].max() > height - margin
    ):
        return None, "face cut by the image border"
    return best, ""


def sidecar_path(path: Path) -> Path:
    """The precomputed-landmarks file of a photo or video: ``<name>.landmarks.json``."""
    return path.with_name(path.name + ".landmarks.json")


def _faces(entry: Any, where: str) -> list[DetectedFace]:
    if not isinstance(entry, dict):
        raise CmpEdgeError(f"{where}: expected an object with 'faces' or 'landmarks'")
    raw = entry.get("faces", [entry["landmarks"]] if "landmarks" in entry else None)
    if not isinstance(raw, list):
        raise CmpEdgeError(f"{where}: no 'faces' list or 'landmarks' array")
    out = []
    for face in raw:
        arr = np.asarray(face, dtype=np.float64)
        if arr.shape != (68, 2):
            raise CmpEdgeError(f"{where}: a face must be 68 [x, y] pairs, got {arr.shape}")
        out.append(DetectedFace(arr))
    return out


def read_sidecar(path: Path) -> list[tuple[float | None, list[DetectedFace]]]:
    """Precomputed landmarks: [(time or None, faces)], times ascending for videos.

    Raises:
        CmpEdgeError: unreadable, too large or malformed file (names the file).
    """
    if path.stat().st_size > _MAX_SIDECAR_BYTES:
        raise CmpEdgeError(f"{path}: larger than {_MAX_SIDECAR_BYTES >> 20} MiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CmpEdgeError(f"{path}: not readable JSON ({exc})") from None
    try:
        if isinstance(data, dict) and "frames" in data:
            frames = [(float(f["time"]), _faces(f, str(path))) for f in data["frames"]]
            return sorted(frames, key=lambda item: item[0] or 0.0)
        return [(None, _faces(data, str(path)))]
    except CmpEdgeError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CmpEdgeError(f"{path}: malformed landmarks ({exc})") from None
