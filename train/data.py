"""Data loading for the trainers: the Voxceleb-3D layout and raw-audio folders.

Layout (docs/architecture.md, "Data layout")::

    DATA/vox1_meta.csv                          tab separated, header row
    DATA/preprocessed_MFCC/<vox id>/<yt id>/<n>.npy   (T, 64) float32 CMP features
    DATA/wav/<vox id>/<yt id>/<n>.wav           raw audio (features computed and cached)
    DATA/faces/<name>/<k>.npy                   (228,) 3DMM parameters (199 shape + 29 expr)
    DATA/faces/<name>/<k>.xyz / .png            vertices (text) / 8-bit RGB face image

Identities are split by name: first letter A-E -> "test", F-Z (and anything else) ->
"train". Batches are a deterministic function of (seed, step, rank), which makes
resuming and multi-process training reproducible without saving sampler state.

Every malformed or missing file raises :class:`DataError` with a one-line message.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from cmp_edge._safe.atomic import atomic_write
from cmp_edge.errors import CmpEdgeError
from cmp_edge.features.normalize import repeat_pad
from cmp_edge.model.layout import BFM_SHAPE, N_VOXCELEB3D_PARAMS, voxceleb3d_to_cmp
from cmp_edge.output.png import read_png

__all__ = [
    "META_HEADER",
    "N_FACE_PARAMS",
    "DataError",
    "Identity",
    "Speaker",
    "VoxCeleb3D",
    "crop_or_tile",
    "face_target",
    "load_face_params",
    "load_features",
    "load_png",
    "load_xyz",
    "read_meta",
    "split_of",
]

META_HEADER = ("VoxCeleb1 ID", "VGGFace1 ID", "Gender", "Nationality", "Set")
N_FACE_PARAMS = N_VOXCELEB3D_PARAMS  # 199 BFM shape + 29 expression
N_BFM_SHAPE = BFM_SHAPE
Split = Literal["train", "test", "all"]
FeatureSource = Literal["auto", "mfcc", "wav"]


class DataError(CmpEdgeError):
    """A data file or folder is missing or malformed (one-line message naming it)."""


@dataclass(frozen=True)
class Identity:
    """One row of vox1_meta.csv."""

    vox_id: str
    name: str
    gender: str  # "m" or "f"
    nationality: str
    set_name: str


def split_of(name: str) -> Literal["train", "test"]:
    """Name-based split of Voxceleb-3D: first letter A-E -> "test", otherwise "train"."""
    first = name[:1].upper()
    return "test" if "A" <= first <= "E" else "train"


def read_meta(path: str | os.PathLike[str]) -> list[Identity]:
    """Parse vox1_meta.csv (tab separated, header :data:`META_HEADER`).

    Raises:
        DataError: missing file, wrong header, short rows, bad gender, duplicate ids.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: metadata file not found (expected vox1_meta.csv in the data root)")
    with p.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows:
        raise DataError(f"{p}: empty metadata file")
    header = tuple(c.strip() for c in rows[0])
    if header[: len(META_HEADER)] != META_HEADER:
        raise DataError(f"{p}: header {header!r} is not the tab-separated {'|'.join(META_HEADER)}")
    out: list[Identity] = []
    seen: set[str] = set()
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < len(META_HEADER):
            raise DataError(f"{p}:{lineno}: expected {len(META_HEADER)} tab-separated columns")
        vox, name, gender, nat, set_name = (c.strip() for c in row[: len(META_HEADER)])
        if gender.lower() not in ("m", "f"):
            raise DataError(f"{p}:{lineno}: gender must be m or f, got {gender!r}")
        if not vox or not name:
            raise DataError(f"{p}:{lineno}: empty VoxCeleb1 ID or VGGFace1 ID")
        if vox in seen:
            raise DataError(f"{p}:{lineno}: duplicate VoxCeleb1 ID {vox}")
        seen.add(vox)
        out.append(Identity(vox, name, gender.lower(), nat, set_name))
    return out


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


def load_features(path: str | os.PathLike[str]) -> np.ndarray:
    """(T, 64) float32 CMP features from a .npy file (T >= 1, finite)."""
    p = Path(path)
    x = _load_npy(p)
    if x.ndim != 2 or x.shape[1] != 64 or x.shape[0] < 1:
        raise DataError(f"{p}: features must have shape (T, 64), got {x.shape}")
    x = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{p}: features contain NaN or infinity")
    return x


def load_face_params(path: str | os.PathLike[str]) -> np.ndarray:
    """(228,) float32 3DMM parameters (199 shape + 29 expression)."""
    p = Path(path)
    x = _load_npy(p)
    if x.size != N_FACE_PARAMS or x.ndim > 2:
        raise DataError(f"{p}: face parameters must have {N_FACE_PARAMS} values (199 + 29)")
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{p}: face parameters contain NaN or infinity")
    return x


def face_target(params: np.ndarray, scale: float) -> np.ndarray:
    """(228,) BFM-layout parameters -> (51,) un-whitened [scale, shape[:40], expr[:10]]."""
    return voxceleb3d_to_cmp(params, scale)


def load_xyz(path: str | os.PathLike[str]) -> np.ndarray:
    """(N, 3) float32 vertices from a text .xyz file ("x y z" per line)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        x = np.loadtxt(p, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{p}: not a text x y z file ({exc})") from None
    if x.ndim != 2 or x.shape[1] != 3 or x.shape[0] == 0:
        raise DataError(f"{p}: expected N lines of 3 numbers, got shape {x.shape}")
    return x.astype(np.float32)


def load_png(path: str | os.PathLike[str]) -> np.ndarray:
    """(H, W, 3) uint8 image, read with ``cmp_edge.output.png.read_png``."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        img = np.asarray(read_png(p))
    except (ValueError, OSError) as exc:
        raise DataError(f"{p}: cannot read PNG ({exc})") from None
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3]).astype(np.uint8)


@dataclass
class Speaker:
    """An identity with its utterance files and face files (sorted)."""

    identity: Identity
    utterances: list[Path]
    faces: list[Path]  # .npy parameter files
    images: list[Path] = field(default_factory=list)
    targets: np.ndarray = field(default_factory=lambda: np.zeros((0, 51), np.float32))


class VoxCeleb3D:
    """Speakers of one split of a Voxceleb-3D style folder.

    Args:
        root: the data folder (vox1_meta.csv, preprocessed_MFCC/ or wav/, faces/).
        split: "train" (F-Z), "test" (A-E) or "all".
        features: "mfcc" reads preprocessed_MFCC/*.npy, "wav" computes CMP features from
            ``audio_root`` (default root/wav) with ``cmp_edge.features.logmel.cmp_features`` and
            caches them as .npy under ``cache_dir`` (default root/.feature_cache);
            "auto" prefers preprocessed_MFCC when it exists.
        scale: the scale entry of the targets (1.0 for the synthetic mm face model).
        require_images: keep only faces that have a .png beside their .npy.

    Identities without utterances or faces are skipped (the metadata lists all
    VoxCeleb1 speakers); an empty result raises :class:`DataError`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: Split = "train",
        *,
        features: FeatureSource = "auto",
        audio_root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        scale: float = 1.0,
        require_images: bool = False,
        max_speakers: int | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"{self.root}: data folder not found")
        mfcc = self.root / "preprocessed_MFCC"
        if features == "auto":
            features = "mfcc" if mfcc.is_dir() else "wav"
        self.source: FeatureSource = features
        if features == "mfcc":
            self.audio_root = mfcc
            pattern = "*.npy"
        elif features == "wav":
            self.audio_root = Path(audio_root) if audio_root is not None else self.root / "wav"
            pattern = "*.wav"
        else:
            raise ValueError(f"features must be auto, mfcc or wav, got {features!r}")
        if not self.audio_root.is_dir():
            raise DataError(
                f"{self.audio_root}: voice folder not found (need preprocessed_MFCC/ or wav/)"
            )
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.root / ".feature_cache"
        faces_root = self.root / "faces"
        if not faces_root.is_dir():
            raise DataError(f"{faces_root}: faces folder not found")
        self.scale = float(scale)
        self.speakers: list[Speaker] = []
        for ident in read_meta(self.root / "vox1_meta.csv"):
            if split != "all" and split_of(ident.name) != split:
                continue
            utts = sorted((self.audio_root / ident.vox_id).glob(f"*/{pattern}"))
            faces = sorted((faces_root / ident.name).glob("*.npy"))
            if require_images:
                faces = [f for f in faces if f.with_suffix(".png").is_file()]
            if not utts or not faces:
                continue
            images = [f.with_suffix(".png") for f in faces if f.with_suffix(".png").is_file()]
            targets = np.stack([face_target(load_face_params(f), self.scale) for f in faces])
            self.speakers.append(Speaker(ident, utts, faces, images, targets))
            if max_speakers is not None and len(self.speakers) >= max_speakers:
                break
        if not self.speakers:
            need = " with .png images" if require_images else ""
            rule = "names starting with A-E" if split == "test" else "names starting with F-Z"
            raise DataError(
                f"{self.root}: no {split} identities with both utterances and faces{need} "
                f"(the {split} split is the identities with {rule}, as in Voxceleb-3D)"
            )
        self._cache: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.speakers)

    def features(self, path: Path) -> np.ndarray:
        """(T, 64) float32 features of one utterance file (memoised)."""
        hit = self._cache.get(path)
        if hit is not None:
            return hit
        if self.source == "mfcc":
            x = load_features(path)
        else:
            x = self._wav_features(path)
        self._cache[path] = x
        return x

    def _wav_features(self, path: Path) -> np.ndarray:
        rel = path.relative_to(self.audio_root).with_suffix(".npy")
        cached = self.cache_dir / rel
        if cached.is_file() and cached.stat().st_mtime >= path.stat().st_mtime:
            return load_features(cached)
        from cmp_edge.audio import load
        from cmp_edge.features import cmp_features

        try:
            samples, rate = load(path)
            x = np.asarray(cmp_features(samples, rate), dtype=np.float32)
        except CmpEdgeError as exc:
            raise DataError(f"{path}: {exc}") from None
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cached) as handle:
            np.save(handle, x)
        return x

    def all_targets(self) -> np.ndarray:
        """(M, 51) every face target of every speaker (un-whitened)."""
        return np.concatenate([s.targets for s in self.speakers])

    def whitening(self, scale_std: float = 0.01, floor: float = 1e-6) -> tuple[np.ndarray, ...]:
        """Per-entry (mean, std), each (51,) float64, over all face targets.

        The scale entry is (``self.scale``, ``scale_std``): the data carry no scale.
        """
        t = self.all_targets().astype(np.float64)
        mean, std = t.mean(axis=0), np.maximum(t.std(axis=0), floor)
        mean[0], std[0] = self.scale, scale_std
        return mean, std


def crop_or_tile(x: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """(T, 64) -> (length, 64): a random window, or the whole tiled end to end if T < length."""
    t = x.shape[0]
    if t >= length:
        start = int(rng.integers(0, t - length + 1))
        return x[start : start + length]
    return np.asarray(repeat_pad(x, length))
