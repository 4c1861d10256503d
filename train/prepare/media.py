"""Reading photos, video frames and audio as phones, cameras and browsers write them.

Photos (Pillow): the EXIF orientation is applied; every pixel format becomes 8-bit
RGB correctly (16-bit and 32-bit grey are rescaled, not clipped; alpha and palette
transparency are composited over white; CMYK and YCbCr are converted); images over
:data:`MAX_PIXELS` are refused before decoding, and large JPEGs are decoded at a
reduced size (``draft``) so a 50-megapixel photo does not take gigabytes.

Videos and audio (PyAV): frames are picked by their presentation time stamps (so
variable frame rates give the right times), the display-matrix rotation that phones
record is applied to every frame, and audio is decoded, downmixed and resampled to
16 kHz mono float32.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge.errors import CmpEdgeError

__all__ = [
    "AUDIO_RATE",
    "MAX_PIXELS",
    "MAX_SIDE",
    "Frame",
    "MediaError",
    "read_audio",
    "read_image",
    "sharpness",
    "video_frames",
]

AUDIO_RATE = 16000
MAX_PIXELS = 200_000_000
"""Photos with more pixels than this are refused (decompression bombs, scans)."""
MAX_SIDE = 2048
"""Longest side, in pixels, that photos and frames are reduced to before detection."""
_MAX_AUDIO_SECONDS = 4 * 3600


class MediaError(CmpEdgeError):
    """A photo, video or audio file cannot be used (one line: which file, what, what to do)."""


@dataclass(frozen=True)
class Frame:
    """One decoded image: (H, W, 3) uint8 RGB, its time in seconds (None for photos) and
    the factor from its pixels to the original file's pixels (1.0 unless reduced)."""

    rgb: np.ndarray
    time: float | None
    reduced_by: float = 1.0


def _reduce(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    f = max(h, w) / max_side
    if f <= 1.0:
        return rgb, 1.0
    from PIL import Image

    size = (max(1, round(w / f)), max(1, round(h / f)))
    img = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(img), f


def _to_rgb8(img: object, path: Path) -> np.ndarray:
    from PIL import Image

    assert isinstance(img, Image.Image)
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img).astype(np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(np.nanmax(arr)), 1.0)
        if mode == "F":
            top = 1.0 if np.nanmax(arr) <= 1.0 else float(np.nanmax(arr))
        grey = np.clip(np.nan_to_num(arr) / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode == "1":
        img = img.convert("L")
    try:
        return np.asarray(img.convert("RGB"))
    except (ValueError, OSError) as exc:
        raise MediaError(f"{path}: pixel format {mode} cannot be converted ({exc})") from None


def read_image(path: Path, max_side: int = MAX_SIDE) -> Frame:
    """A photo as 8-bit RGB, upright (EXIF orientation applied), longest side <= max_side.

    Raises:
        MediaError: unreadable or truncated file, unknown format, more than
            :data:`MAX_PIXELS` pixels.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise MediaError(
                        f"{path}: {w} x {h} pixels is over the limit of {MAX_PIXELS}; "
                        "reduce the photo first"
                    )
                full = max(w, h)
                if img.format == "JPEG" and full > 2 * max_side:
                    img.draft("RGB", (max_side, max_side))
                draft_factor = full / max(img.size)
                upright = ImageOps.exif_transpose(img)
                rgb = _to_rgb8(upright, path)
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{path}: not a readable image ({exc}); re-export it") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"{path}: {exc}") from None
    rgb, f = _reduce(rgb, max_side)
    return Frame(np.ascontiguousarray(rgb), None, f * draft_factor)


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image (higher is sharper)."""
    g = rgb.astype(np.float32).mean(axis=2)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


def _rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Apply a display rotation (counter-clockwise degrees, multiples of 90)."""
    k = int(round(degrees / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def video_frames(
    path: Path, n: int, max_side: int = MAX_SIDE, times: list[float] | None = None
) -> tuple[list[Frame], float]:
    """About ``n`` frames spread evenly over a video's duration, and the duration.

    Frames are chosen by presentation time, upright (display rotation applied),
    8-bit RGB: the first frame at or after each of n evenly spaced times, or, for
    given ``times`` (seconds), the frame on screen at each time (the last frame
    starting at or before it).

    Returns:
        (frames, duration in seconds); no frames when the file has no video stream.

    Raises:
        MediaError: the file cannot be opened or decoded.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return [], _duration(container)
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            duration = _duration(container)
            if times is not None:
                return _frames_shown_at(container.decode(stream), sorted(times), max_side), duration
            step = duration / n if duration > 0 else 0.0
            targets = [step * (i + 0.5) for i in range(n)] if step > 0 else [0.0]
            out: list[Frame] = []
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                if not targets or frame.time + 1e-6 < targets[0]:
                    continue
                while targets and frame.time + 1e-6 >= targets[0]:
                    targets.pop(0)
                out.append(_upright(frame, max_side))
                if not targets:
                    break
            return out, duration
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path}: cannot decode the video ({_reason(exc)}); "
            "check that it is a complete media file, or re-encode it"
        ) from None


def _frames_shown_at(decoded: Iterator[Any], targets: list[float], max_side: int) -> list[Frame]:
    """The frames on screen at the sorted ``targets`` (seconds), each frame once."""
    out: list[Frame] = []
    shown: Any = None  # the latest decoded frame starting at or before targets[0]

    def keep(frame: Any) -> None:
        if frame is not None and (not out or out[-1].time != float(frame.time)):
            out.append(_upright(frame, max_side))

    for frame in decoded:
        if frame.time is None:
            continue
        while targets and frame.time > targets[0] + 1e-6:
            keep(shown)
            targets.pop(0)
        if not targets:
            return out
        shown = frame
    if targets:
        keep(shown)
    return out


def _upright(frame: Any, max_side: int) -> Frame:
    """A decoded PyAV video frame as an upright, size-capped 8-bit RGB :class:`Frame`."""
    rgb = _rotate(frame.to_ndarray(format="rgb24"), float(frame.rotation or 0))
    rgb, f = _reduce(rgb, max_side)
    return Frame(rgb, float(frame.time), f)


def _reason(exc: Exception) -> str:
    """FFmpeg's message without the errno number PyAV puts in front of it."""
    return str(getattr(exc, "strerror", None) or exc)


def _duration(container: object) -> float:
    d = getattr(container, "duration", None)
    return float(d) / 1_000_000 if d else 0.0


def read_audio(path: Path) -> np.ndarray | None:
    """The first audio stream as 16 kHz mono float32 in [-1, 1), or None if there is none.

    Raises:
        MediaError: the file cannot be opened or decoded, or is over 4 hours long.
    """
    import av

    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1).copy())
                    total += chunks[-1].size
                if total > _MAX_AUDIO_SECONDS * AUDIO_RATE:
                    raise MediaError(f"{path}: audio longer than 4 hours; split it first")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).copy())
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path}: cannot decode the audio ({_reason(exc)}); "
            "check that it is a complete media file, or re-encode it"
        ) from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    samples = np.nan_to_num(samples.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(samples, -1.0, math.nextafter(1.0, 0.0)).astype(np.float32)
