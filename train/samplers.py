"""Batches for the trainers: triplets of utterances and face images, reproducible by step.

Batches are a deterministic function of (seed, step, rank), which makes resuming
and multi-process training reproducible without saving sampler state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cmp_edge.errors import CmpEdgeError
from train.data import DataError, VoxCeleb3D, crop_or_tile, load_png

__all__ = [
    "ImageBatch",
    "ImageSampler",
    "TripletBatch",
    "TripletSampler",
    "batch_rng",
    "images_to_tensor",
]


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
