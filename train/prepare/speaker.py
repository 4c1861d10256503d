"""One speaker: utterances -> features, faces -> landmarks -> one joint fit -> corpus files.

Every file's outcome is a row of the summary; a bad file never ends the run. The
speaker's record (``OUT/.prepare/done/<name>.json``) is written last, so a speaker
with a record is complete and a rerun skips it (resume).
"""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge.errors import CmpEdgeError, NoSpeechError
from train.prepare.detect import (
    DetectedFace,
    MediaPipeDetector,
    choose_face,
    read_sidecar,
    sidecar_path,
)
from train.prepare.inputs import SpeakerInput, kind_of
from train.prepare.media import AUDIO_RATE, Frame, read_audio, read_image, sharpness, video_frames

__all__ = ["Options", "Shot", "process_speaker", "record_path"]

SHAPE_DIMS, EXPR_DIMS = 199, 29  # faces/<name>/<k>.npy: the BFM layout the loader reads
_detector: MediaPipeDetector | None = None


@dataclass(frozen=True)
class Options:
    """Settings of a run (the command-line options)."""

    out: Path
    face_model: str = "default"
    frames_per_video: int = 6
    candidates_per_video: int = 16
    max_utterance_s: float = 20.0
    min_eye_px: float = 24.0
    max_nme: float = 0.08
    max_yaw: float = 50.0
    landmark_std: float = 0.03
    qa_size: int = 512
    force: bool = False


@dataclass
class Shot:
    """One usable image: where it came from, its pixels and the chosen face."""

    file: Path
    time: float | None
    frame: Frame
    face: DetectedFace
    sharp: float


def record_path(out: Path, name: str) -> Path:
    """Where a speaker's record lives (written when the speaker has been processed)."""
    return out / ".prepare" / "done" / f"{name}.json"


def finished_record(out: Path, name: str) -> dict[str, Any] | None:
    """The record of a speaker completed by an earlier run, else None.

    Incomplete speakers (no usable face or speech, e.g. run without the detector) are
    processed again by the next run.
    """
    path = record_path(out, name)
    try:
        record = dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
    return record if record.get("status") == "ok" else None


def _detect(rgb: np.ndarray) -> list[DetectedFace]:
    global _detector
    if _detector is None:
        _detector = MediaPipeDetector()
    return _detector(rgb)


def _utt_id(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", path.stem)[:40] or "file"
    return f"{stem}-{hashlib.sha1(str(path).encode()).hexdigest()[:6]}"


def _write_utterances(
    samples: np.ndarray, sp: SpeakerInput, path: Path, opts: Options
) -> tuple[int, str]:
    """Features (and 16 kHz wav) of each segment of at most max_utterance_s seconds."""
    import soundfile

    from cmp_edge.features import cmp_features

    seg = max(1, int(opts.max_utterance_s * AUDIO_RATE))
    n_seg = max(1, int(np.ceil(len(samples) / seg)))
    # segments of equal length, none shorter than half the maximum
    bounds = np.linspace(0, len(samples), n_seg + 1).round().astype(int)
    yt = _utt_id(path)
    written, silent = 0, 0
    for j in range(n_seg):
        piece = samples[bounds[j] : bounds[j + 1]]
        try:
            feats = cmp_features(piece, AUDIO_RATE)
        except NoSpeechError:
            silent += 1
            continue
        written += 1
        for sub, data in (("preprocessed_MFCC", None), ("wav", piece)):
            folder = opts.out / sub / sp.vox_id / yt
            folder.mkdir(parents=True, exist_ok=True)
            if data is None:
                np.save(folder / f"{written:05d}.npy", np.ascontiguousarray(feats, np.float32))
            else:
                buf = io.BytesIO()
                pcm = np.round(np.clip(data, -1, 1) * 32767).astype(np.int16)
                soundfile.write(buf, pcm, AUDIO_RATE, subtype="PCM_16", format="WAV")
                (folder / f"{written:05d}.wav").write_bytes(buf.getvalue())
    note = f"{silent} of {n_seg} segments without voiced speech" if silent else ""
    return written, note


def _given_per_frame(
    given: list[tuple[float | None, list[DetectedFace]]], frames: list[Frame], kind: str
) -> list[list[DetectedFace]]:
    """The precomputed faces of each frame: a photo's all; a video entry's go to the
    frame on screen at its time (the last frame starting at or before it)."""
    per_frame: list[list[DetectedFace]] = [[] for _ in frames]
    starts = [f.time if f.time is not None else -math.inf for f in frames]
    for t, faces in given:
        if kind == "photo":
            k = 0
        elif t is None:
            continue
        else:
            k = bisect.bisect_right(starts, t + 1e-6) - 1
        if 0 <= k < len(frames):
            scale = frames[k].reduced_by
            per_frame[k] += [DetectedFace(f.points / scale) for f in faces]
    return per_frame


def _faces_in(file: Path, kind: str, opts: Options) -> tuple[list[Shot], str]:
    """Usable shots of one photo or video, and a note on what was refused."""
    side = sidecar_path(file)
    given = read_sidecar(side) if side.is_file() else None
    if kind == "photo":
        frames = [read_image(file)]
    else:
        times = None if given is None else [t for t, _ in given if t is not None]
        if times == []:
            return [], f"{side.name} lists no frames"
        frames, _ = video_frames(file, opts.candidates_per_video, times=times)
        if not frames:
            return [], "no video stream"
    shots: list[Shot] = []
    reasons: dict[str, int] = {}
    precomputed = None if given is None else _given_per_frame(given, frames, kind)
    for i, frame in enumerate(frames):
        h, w = frame.rgb.shape[:2]
        faces = _detect(frame.rgb) if precomputed is None else precomputed[i]
        face, why = choose_face(faces, w, h, opts.min_eye_px / frame.reduced_by)
        if face is None:
            reasons[why] = reasons.get(why, 0) + 1
            continue
        shots.append(Shot(file, frame.time, frame, face, sharpness(frame.rgb)))
    if kind == "video" and len(shots) > opts.frames_per_video:
        shots = sorted(shots, key=lambda s: -s.sharp)[: opts.frames_per_video]
        shots.sort(key=lambda s: s.time or 0.0)
    note = "; ".join(f"{why} ({n} of {len(frames)})" for why, n in reasons.items())
    return shots, note


def _fit(shots: list[Shot], fm: Any, opts: Options) -> tuple[Any, list[Shot], list[dict]]:
    """Joint fit, drop images by residual and yaw, refit; returns fit, kept shots, rows."""
    from cmp_edge.fitting import fit_landmarks, rotation_angles

    pts = [s.face.points for s in shots]
    sizes = [(s.frame.rgb.shape[1], s.frame.rgb.shape[0]) for s in shots]
    fit = fit_landmarks(fm, pts, sizes, landmark_std=opts.landmark_std)
    rows: list[dict[str, Any]] = []
    keep = []
    for i, s in enumerate(shots):
        yaw, pitch, roll = rotation_angles(fit.rotation[i])
        why = ""
        if fit.nme[i] > opts.max_nme:
            why = f"landmark error {fit.nme[i]:.3f} > {opts.max_nme}"
        elif abs(yaw) > opts.max_yaw:
            why = f"turned {yaw:.0f} degrees"
        keep.append(not why)
        rows.append(
            {
                "file": str(s.file),
                "time": "" if s.time is None else f"{s.time:.3f}",
                "width": sizes[i][0],
                "height": sizes[i][1],
                "rms_px": round(float(fit.rms_px[i]) * s.frame.reduced_by, 3),
                "nme": round(float(fit.nme[i]), 4),
                "yaw": round(yaw, 1),
                "pitch": round(pitch, 1),
                "roll": round(roll, 1),
                "used": not why,
                "reason": why,
            }
        )
    kept = [s for s, k in zip(shots, keep, strict=True) if k]
    if kept and len(kept) < len(shots):
        fit = fit_landmarks(
            fm,
            [s.face.points for s in kept],
            [(s.frame.rgb.shape[1], s.frame.rgb.shape[0]) for s in kept],
            landmark_std=opts.landmark_std,
        )
    return fit, kept, rows


def _qa_name(shot: Shot, k: int) -> str:
    t = "" if shot.time is None else f"_t{shot.time:07.2f}"
    return f"{k:02d}_{re.sub(r'[^A-Za-z0-9_-]', '_', shot.file.stem)[:40]}{t}.png"


def _write_face(sp: SpeakerInput, fm: Any, fit: Any, kept: list[Shot], opts: Options) -> None:
    from PIL import Image

    from cmp_edge.output.fitplot import draw_fit
    from cmp_edge.output.mesh import save_mesh, write_xyz
    from cmp_edge.output.render import write_png

    face_dir = opts.out / "faces" / sp.name
    face_dir.mkdir(parents=True, exist_ok=True)
    params = np.zeros(SHAPE_DIMS + EXPR_DIMS, np.float32)
    n = min(SHAPE_DIMS, fit.shape.size)
    params[:n] = fit.shape[:n]
    verts = fit.neutral_vertices(fm)
    np.save(face_dir / "0.npy", params)
    write_xyz(face_dir / "0.xyz", verts)
    save_mesh(face_dir / "0.obj", verts, fm.triangles)
    best = int(np.argmin(fit.nme))
    write_png(face_dir / "0.png", _crop(kept[best], 128))
    qa = opts.out / "qa" / sp.name
    qa.mkdir(parents=True, exist_ok=True)
    for i, shot in enumerate(kept):
        pic = draw_fit(shot.frame.rgb, fm, fit, i, detected=shot.face.points)
        h, w = pic.shape[:2]
        f = max(h, w) / opts.qa_size
        if f > 1:
            size = (max(1, round(w / f)), max(1, round(h / f)))
            pic = np.asarray(Image.fromarray(pic).resize(size, Image.Resampling.LANCZOS))
        write_png(qa / _qa_name(shot, i), pic)


def _crop(shot: Shot, size: int) -> np.ndarray:
    """A square face crop around the landmarks (1.6 times their extent), size x size."""
    from PIL import Image

    p = shot.face.points
    c = (p.min(0) + p.max(0)) / 2
    half = 0.8 * float((p.max(0) - p.min(0)).max())
    box = (c[0] - half, c[1] - half, c[0] + half, c[1] + half)
    img = Image.fromarray(shot.frame.rgb).crop(
        (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
    )
    return np.asarray(img.resize((size, size), Image.Resampling.LANCZOS))


def process_speaker(sp: SpeakerInput, opts: Options) -> dict[str, Any]:
    """Process one speaker (or return its record from an earlier run) and write its record."""
    from cmp_edge.facemodel import FaceModel

    done = record_path(opts.out, sp.name)
    if not opts.force:
        earlier = finished_record(opts.out, sp.name)
        if earlier is not None:
            return earlier
    for stale in (
        opts.out / "preprocessed_MFCC" / sp.vox_id,
        opts.out / "wav" / sp.vox_id,
        opts.out / "faces" / sp.name,
        opts.out / "qa" / sp.name,
    ):
        shutil.rmtree(stale, ignore_errors=True)  # an interrupted earlier attempt
    files: list[dict[str, Any]] = []
    shots: list[Shot] = []
    n_utts = 0
    for file in sp.files:
        kind = kind_of(file)
        row: dict[str, Any] = {"speaker": sp.name, "file": str(file), "kind": kind or "other"}
        notes, status, utts, used = [], "ok", 0, 0
        try:
            if kind is None:
                raise CmpEdgeError("unknown file type (not a video, audio file or photo)")
            if not file.is_file():
                raise CmpEdgeError("file not found")
            if kind in ("video", "audio"):
                samples = read_audio(file)
                if samples is None:
                    notes.append("no audio stream")
                elif samples.size < AUDIO_RATE // 2:
                    notes.append(f"audio only {samples.size / AUDIO_RATE:.2f} s long")
                else:
                    utts, note = _write_utterances(samples, sp, file, opts)
                    notes.append(note or "")
                    if utts == 0:
                        notes.append("no voiced speech")
            if kind in ("video", "photo"):
                found, note = _faces_in(file, kind, opts)
                shots.extend(found)
                used = len(found)
                notes.append(note)
                if not found:
                    notes.append("no usable face")
        except CmpEdgeError as exc:
            status = "error"
            notes.append(str(exc).removeprefix(f"{file}: "))
        except Exception as exc:  # noqa: BLE001 - a decoder's surprise must not end the run
            status = "error"
            notes.append(f"{type(exc).__name__}: {exc}")
        n_utts += utts
        if status == "ok" and utts == 0 and used == 0:
            status = "unused"
        message = "; ".join(filter(None, notes))
        row.update(status=status, utterances=utts, images=used, message=message)
        files.append(row)
    fm = FaceModel.default() if opts.face_model == "default" else FaceModel.load(opts.face_model)
    residuals: list[dict[str, Any]] = []
    n_images, fit_rms = 0, None
    if shots:
        fit, kept, residuals = _fit(shots, fm, opts)
        if kept:
            _write_face(sp, fm, fit, kept, opts)
            n_images = len(kept)
            fit_rms = float(np.mean(fit.nme))
    status = "ok" if (n_utts and n_images) else "incomplete"
    why = []
    if not n_utts:
        why.append("no usable speech")
    if not n_images:
        why.append("no usable face")
    record = {
        "name": sp.name,
        "vox_id": sp.vox_id,
        "gender": sp.gender,
        "status": status,
        "message": "; ".join(why),
        "utterances": n_utts,
        "images": n_images,
        "mean_nme": fit_rms,
        "face_model": fm.id,
        "files": files,
        "residuals": [{"speaker": sp.name, **r} for r in residuals],
    }
    done.parent.mkdir(parents=True, exist_ok=True)
    tmp = done.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, done)
    return record
