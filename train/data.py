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
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cmp_edge.errors import CmpEdgeError
from cmp_edge.model.layout import BFM_SHAPE, N_VOXCELEB3D_PARAMS, voxceleb3d_to_cmp

__all__ = [
    "META_HEADER",
    "N_FACE_PARAMS",
    "DataError",
    "Identity",
    "ImageBatch",
    "ImageSampler",
    "Speaker",
    "TripletBatch",
    "TripletSampler",
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


def _unfilter(raw: bytes, width: int, height: int, bpp: int, path: Path) -> np.ndarray:
    stride = width * bpp
    data = np.frombuffer(raw, dtype=np.uint8)
    if data.size != height * (stride + 1):
        raise DataError(f"{path}: PNG image data has the wrong length")
    rows = data.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = int(rows[y, 0]), rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 1:
            cur = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) % 256
        elif kind == 2:
            cur = (line + prev) % 256
        elif kind in (3, 4):
            cur = np.zeros(stride, dtype=np.int32)
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                up = prev[i]
                if kind == 3:
                    pred = (left + up) // 2
                else:
                    ul = prev[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(up - ul), abs(left - ul), abs(left + up - 2 * ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                cur[i] = (line[i] + pred) % 256
        else:
            raise DataError(f"{path}: unknown PNG filter type {kind}")
        out[y] = cur
        prev = cur.astype(np.int32)
    return out


def _read_png_fallback(path: Path) -> np.ndarray:
    """Minimal reader for 8-bit non-interlaced grey / RGB / RGBA PNG files."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    if blob[:8] != b"\x89PNG\r\n\x1a\n":
        raise DataError(f"{path}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos + 8 <= len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind = blob[pos + 4 : pos + 8]
        chunk = blob[pos + 8 : pos + 8 + length]
        if len(chunk) != length:
            raise DataError(f"{path}: truncated PNG chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        raise DataError(f"{path}: PNG without header or image data")
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace != 0:
        raise DataError(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNG is supported")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error:
        raise DataError(f"{path}: corrupt PNG image data") from None
    img = _unfilter(raw, width, height, channels, path).reshape(height, width, channels)
    if channels == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def load_png(path: str | os.PathLike[str]) -> np.ndarray:
    """(H, W, 3) uint8 image, read with ``cmp_edge.output.png.read_png``."""
    p = Path(path)
    try:
        from cmp_edge.output.png import read_png  # type: ignore[import-not-found]
    except ImportError:
        return _read_png_fallback(p)
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
            raise DataError(
                f"{self.root}: no {split} identities with both utterances and faces{need}"
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
        tmp = cached.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, x)
        os.replace(tmp, cached)
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
    reps = -(-length // t)
    return np.tile(x, (reps, 1))[:length]


@dataclass
class TripletBatch:
    """One batch of (anchor, positive, negative) utterances.

    anchor/positive/negative: (B, 64, L) float32 features; speaker / negative_speaker:
    (B,) int64 speaker indices; target / negative_target: (B, 51) un-whitened targets
    of the anchor's and the negative's faces.
    """

    anchor: Tensor
    positive: Tensor
    negative: Tensor
    speaker: Tensor
    negative_speaker: Tensor
    target: Tensor
    negative_target: Tensor

    def to(self, device: torch.device | str) -> TripletBatch:
        """Copy of the batch on ``device``."""
        return TripletBatch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def batch_rng(seed: int, step: int, rank: int, stream: int = 0) -> np.random.Generator:
    """The random generator of one (seed, step, rank, stream): batches depend on nothing else."""
    return np.random.default_rng([seed, step, rank, stream])


class TripletSampler:
    """Draws :class:`TripletBatch` es from a :class:`VoxCeleb3D` split.

    One crop length L in [crop_min, crop_max] frames per batch (the same on every rank of
    a step); the positive is another utterance of the anchor's speaker (the same one when
    the speaker has only one), the negative an utterance of a different speaker.
    """

    def __init__(
        self, data: VoxCeleb3D, batch_size: int, seed: int, crop: tuple[int, int] = (300, 800)
    ) -> None:
        if len(data) < 2:
            raise DataError(f"{data.root}: triplets need at least 2 speakers, found {len(data)}")
        if batch_size < 1 or not 1 <= crop[0] <= crop[1]:
            raise CmpEdgeError(
                f"need batch size >= 1 and 1 <= crop min <= crop max; got {batch_size}, {crop}"
            )
        self.data, self.batch_size, self.seed, self.crop = data, batch_size, seed, crop

    def batch(self, step: int, rank: int = 0, world: int = 1) -> TripletBatch:
        """The batch of ``rank`` at ``step`` (batch_size // world items)."""
        n = self.batch_size // world
        if n < 1:
            raise CmpEdgeError(f"batch size {self.batch_size} is smaller than the world {world}")
        length = int(batch_rng(self.seed, step, 0, 1).integers(self.crop[0], self.crop[1] + 1))
        rng = batch_rng(self.seed, step, rank)
        count = len(self.data)
        spk = rng.choice(count, size=n, replace=n > count)
        neg = (spk + rng.integers(1, count, size=n)) % count
        anchors, positives, negatives, tgt, ntgt = [], [], [], [], []
        for s, o in zip(spk, neg, strict=True):
            sp, so = self.data.speakers[s], self.data.speakers[o]
            ia = int(rng.integers(len(sp.utterances)))
            ip = ia
            if len(sp.utterances) > 1:
                ip = (ia + int(rng.integers(1, len(sp.utterances)))) % len(sp.utterances)
            io = int(rng.integers(len(so.utterances)))
            anchors.append(crop_or_tile(self.data.features(sp.utterances[ia]), length, rng))
            positives.append(crop_or_tile(self.data.features(sp.utterances[ip]), length, rng))
            negatives.append(crop_or_tile(self.data.features(so.utterances[io]), length, rng))
            tgt.append(sp.targets[int(rng.integers(len(sp.targets)))])
            ntgt.append(so.targets[int(rng.integers(len(so.targets)))])

        def stack(xs: Sequence[np.ndarray]) -> Tensor:
            return torch.from_numpy(np.ascontiguousarray(np.stack(xs).transpose(0, 2, 1)))

        return TripletBatch(
            stack(anchors),
            stack(positives),
            stack(negatives),
            torch.from_numpy(spk.astype(np.int64)),
            torch.from_numpy(neg.astype(np.int64)),
            torch.from_numpy(np.stack(tgt)),
            torch.from_numpy(np.stack(ntgt)),
        )


def images_to_tensor(images: Iterable[np.ndarray], size: int) -> Tensor:
    """uint8 (H, W, 3) images -> (B, 3, size, size) float32 in [-1, 1] (bilinear resize)."""
    x = torch.from_numpy(np.stack(list(images))).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=True)
    return x


@dataclass
class ImageBatch:
    """Face images (B, 3, S, S) in [-1, 1], their speaker indices (B,) and targets (B, 51)."""

    images: Tensor
    speaker: Tensor
    target: Tensor

    def to(self, device: torch.device | str) -> ImageBatch:
        """Copy of the batch on ``device``."""
        return ImageBatch(self.images.to(device), self.speaker.to(device), self.target.to(device))


class ImageSampler:
    """Draws face images with their parameter targets (expert training, real faces).

    All images are decoded once and kept in memory as uint8.
    """

    def __init__(self, data: VoxCeleb3D, batch_size: int, seed: int, size: int) -> None:
        self.data, self.batch_size, self.seed, self.size = data, batch_size, seed, size
        self.items: list[tuple[int, int]] = []  # (speaker, face index)
        self.pixels: list[np.ndarray] = []
        for s, sp in enumerate(data.speakers):
            for k, face in enumerate(sp.faces):
                png = face.with_suffix(".png")
                if png.is_file():
                    self.items.append((s, k))
                    self.pixels.append(load_png(png))
        if not self.items:
            raise DataError(f"{data.root}: no face images (.png beside faces/<name>/<k>.npy)")
        if len({p.shape for p in self.pixels}) != 1:
            raise DataError(f"{data.root}: face images differ in size")
        self.pool_pixels = np.empty((0, *self.pixels[0].shape), np.uint8)
        self.pool_targets = np.empty((0, 51), np.float32)

    @property
    def image_size(self) -> int:
        """Side of the corpus' (square) face images in pixels."""
        return int(self.pixels[0].shape[0])

    def add_pool(self, images: np.ndarray, targets: np.ndarray) -> None:
        """Draw also from face-only images (P, H, W, 3) uint8 with their (P, 51) targets
        (:func:`train.face_pool.render_pool`); their speaker index is -1."""
        if images.shape[1:] != self.pixels[0].shape or len(images) != len(targets):
            raise DataError(
                f"{self.data.root}: face images are {self.pixels[0].shape}, the face pool "
                f"{images.shape[1:]} ({len(images)} images, {len(targets)} targets)"
            )
        self.pool_pixels = np.concatenate([self.pool_pixels, images])
        self.pool_targets = np.concatenate([self.pool_targets, targets.astype(np.float32)])

    def __len__(self) -> int:
        """Number of distinct images (corpus + pool)."""
        return len(self.items) + len(self.pool_pixels)

    def _item(self, i: int) -> tuple[np.ndarray, int, np.ndarray]:
        """(pixels, speaker index or -1, (51,) target) of image ``i``."""
        if i < len(self.items):
            s, k = self.items[i]
            return self.pixels[i], s, self.data.speakers[s].targets[k]
        j = i - len(self.items)
        return self.pool_pixels[j], -1, self.pool_targets[j]

    def batch(self, step: int, rank: int = 0, world: int = 1, stream: int = 2) -> ImageBatch:
        """The image batch of ``rank`` at ``step`` (batch_size // world items)."""
        n = max(1, self.batch_size // world)
        rng = batch_rng(self.seed, step, rank, stream)
        pick = rng.integers(len(self), size=n)
        items = [self._item(int(i)) for i in pick]
        return ImageBatch(
            images_to_tensor((it[0] for it in items), self.size),
            torch.tensor([it[1] for it in items], dtype=torch.int64),
            torch.from_numpy(np.stack([it[2] for it in items]).astype(np.float32)),
        )
