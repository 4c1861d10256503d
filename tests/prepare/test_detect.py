"""Landmark detection (MediaPipe face mesh -> ibug-68) on a real photo and on videos.

Runs where the ``detect`` extra is installed (MediaPipe 0.10.14 needs protobuf<5,
so CI installs it in a separate environment; see .ci/run).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe", reason="needs the detect extra: pip install -e '.[detect]'")
pytest.importorskip("av", reason="train.prepare needs PyAV: pip install -e '.[prepare]'")
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

from cmp_edge.facemodel import FaceModel  # noqa: E402
from cmp_edge.fitting import fit_landmarks  # noqa: E402
from cmp_edge.fitting.synthetic import scaled_vertex_rmse  # noqa: E402
from cmp_edge.output.fitplot import draw_fit  # noqa: E402
from cmp_edge.output.png import write_png  # noqa: E402
from tests.prepare.talking_heads import make_talking_heads  # noqa: E402
from train.prepare.cli import main as prepare  # noqa: E402
from train.prepare.detect import MediaPipeDetector, choose_face  # noqa: E402
from train.prepare.media import read_image  # noqa: E402

# ibug-68 index of each point's mirror image (left <-> right)
MIRROR = np.array(
    list(range(16, -1, -1))
    + list(range(26, 16, -1))
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)


@pytest.fixture(scope="module")
def detector() -> MediaPipeDetector:
    return MediaPipeDetector()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.asarray(data.astronaut())


def test_mirror_table_is_an_involution() -> None:
    assert sorted(MIRROR.tolist()) == list(range(68))
    assert np.array_equal(MIRROR[MIRROR], np.arange(68))


def test_astronaut_face_found_fitted_and_drawn(
    detector: MediaPipeDetector, astronaut: np.ndarray, tmp_path: Path
) -> None:
    h, w = astronaut.shape[:2]
    faces = detector(astronaut)
    face, why = choose_face(faces, w, h, 24)
    assert face is not None, why
    # the face is in the upper middle of the portrait, about 60 px between the eye corners
    assert 150 < face.points[30, 0] < 300 and 60 < face.points[30, 1] < 160
    assert 45 < face.eye_distance < 80
    fm = FaceModel.default()
    fit = fit_landmarks(fm, face.points, (w, h))
    # MediaPipe's points mapped to ibug-68 against the ICT head's own ibug vertices:
    # 1.83 px rms, NME 0.025 measured on this 512 px portrait (60 px between the eye
    # corners); the earlier jaw correspondence (face-oval vertices) gave 5.10 px, 0.052
    assert fit.rms_px[0] < 2.5 and fit.nme[0] < 0.033, (fit.rms_px, fit.nme)
    pic = draw_fit(astronaut, fm, fit, 0, detected=face.points)
    write_png(tmp_path / "astronaut_fit.png", pic)
    changed = np.any(pic != astronaut, axis=2)
    x0, y0 = face.points.min(0).astype(int)
    x1, y1 = face.points.max(0).astype(int)
    assert changed[y0:y1, x0:x1].mean() > 0.9  # the mesh covers the face
    assert not changed[400:, :100].any()  # and not the suit or the flag


def test_mapping_is_mirror_consistent(detector: MediaPipeDetector, astronaut: np.ndarray) -> None:
    w = astronaut.shape[1]
    (face,) = detector(astronaut)
    (flipped,) = detector(np.ascontiguousarray(astronaut[:, ::-1]))
    back = flipped.points[MIRROR].copy()
    back[:, 0] = w - back[:, 0]
    err = np.linalg.norm(back - face.points, axis=1)
    assert np.median(err) < 0.05 * face.eye_distance, err


def test_sideways_photo_is_turned_upright(
    detector: MediaPipeDetector, astronaut: np.ndarray, tmp_path: Path
) -> None:
    pil = Image.fromarray(np.ascontiguousarray(np.rot90(astronaut, 1)))  # stored sideways
    exif = pil.getexif()
    exif[0x0112] = 6  # the camera says: rotate 90 degrees clockwise to display
    pil.save(tmp_path / "side.jpg", exif=exif, quality=95)
    frame = read_image(tmp_path / "side.jpg")
    faces = detector(frame.rgb)
    face, why = choose_face(faces, frame.rgb.shape[1], frame.rgb.shape[0], 24)
    assert face is not None, why
    (ref,) = detector(astronaut)
    assert np.median(np.linalg.norm(face.points - ref.points, axis=1)) < 3.0


def test_two_similar_faces_are_refused_a_small_one_ignored(
    detector: MediaPipeDetector, astronaut: np.ndarray
) -> None:
    head = astronaut[:260, 110:370]
    pair = np.concatenate([head, head], axis=1)
    faces = detector(pair)
    assert len(faces) == 2
    assert "2 faces of similar size" in choose_face(faces, pair.shape[1], pair.shape[0], 24)[1]
    small = np.asarray(Image.fromarray(head).resize((90, 90)))
    mixed = np.concatenate([head, np.zeros((260, 140, 3), np.uint8)], axis=1)
    mixed[150:240, 280:370] = small
    faces = detector(mixed)
    chosen, why = choose_face(faces, mixed.shape[1], mixed.shape[0], 24)
    assert chosen is not None and chosen.points[30, 0] < 260, why


@pytest.mark.slow
def test_talking_head_videos_with_the_detector(tmp_path: Path) -> None:
    planted = make_talking_heads(tmp_path / "in", 2, seed=4, seconds=2.0, sidecars=False)
    assert prepare([str(tmp_path / "in"), str(tmp_path / "out"), "--workers", "1", "-q"]) == 0
    totals = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert totals["complete_speakers"] == 2, totals
    fm = FaceModel.default()
    for sp in planted:
        params = np.load(tmp_path / "out" / "faces" / sp.name / "0.npy")
        truth = fm.reconstruct(sp.shape)
        err = scaled_vertex_rmse(fm.reconstruct(params[:40]), truth)
        print(sp.name, f"fit {err:.2f} mm, mean face {scaled_vertex_rmse(fm.mean, truth):.2f}")
