"""Networks of the Cross-Modal Perceptionist, shared by the trainers and ``export``.

Layouts and state-dict keys follow the published reference (spec section 3 and 3b)
at the default widths, so published weights load unchanged:

- :class:`VoiceEncoder`: ``model.0`` .. ``model.12`` (1D CNN, 64-bin features -> 64-d).
- :class:`SupervisedDecoder`: ``classifier_scale.1``, ``classifier_shape.1``,
  ``classifier_exp.1`` (index 0 of each is ``Dropout(0.2)``), 51 whitened outputs.
- :class:`Generator`: 64-d embedding -> 64 x 64 RGB image in [-1, 1].
- :class:`FaceEmbed`, :class:`Discriminator`, :class:`IdentityClassifier`.
- :class:`MobileNetV2` (student and expert): ``features.0`` .. ``features.18`` and the
  heads ``classifier_ori`` / ``classifier_shape`` / ``classifier_exp`` /
  ``classifier_texture`` giving 102 whitened values [12 pose, 40 shape, 10 expr, 40 tex].
- :class:`TorchFaceModel`: differentiable 3DMM reconstruction from a face model's arrays.
- :class:`SupervisedCMP` and :class:`DistilledCMP`: features (B, 64, T) -> 51 whitened
  parameters, the graphs that ``export`` writes to ONNX.

Widths are configurable for CPU-sized runs; only the defaults match the published keys'
shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "EXPERT_INPUT_SIZE",
    "N_EXPR",
    "N_PARAMS",
    "N_SHAPE",
    "STUDENT_HEADS",
    "DistilledCMP",
    "FaceEmbed",
    "Discriminator",
    "Generator",
    "IdentityClassifier",
    "MobileNetV2",
    "SupervisedCMP",
    "SupervisedDecoder",
    "TorchFaceModel",
    "VoiceEncoder",
    "resize_for_expert",
]

N_SHAPE = 40
N_EXPR = 10
N_PARAMS = 1 + N_SHAPE + N_EXPR  # [scale, 40 shape, 10 expression]
EXPERT_INPUT_SIZE = 120
# (head name, width) in output order of the image-to-3DMM network (102 values).
STUDENT_HEADS: tuple[tuple[str, int], ...] = (
    ("classifier_ori", 12),
    ("classifier_shape", N_SHAPE),
    ("classifier_exp", N_EXPR),
    ("classifier_texture", 40),
)
# Slice of the 102 image-network outputs holding [40 shape, 10 expression].
STUDENT_SHAPE_EXPR = slice(12, 12 + N_SHAPE + N_EXPR)


def _scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded to a positive multiple of 8 (exact when width == 1)."""
    if width == 1.0:
        return channels
    return max(8, int(round(channels * width / 8.0)) * 8)


class VoiceEncoder(nn.Module):
    """1D CNN voice encoder (published layout at ``width=1``).

    Input (B, 64, T) normalised log-mel features; output (B, 64) embedding, L2-normalised
    unless ``normalize=False``. Five stride-2 convolutions, each but the last followed by
    BatchNorm and ReLU; the time axis is averaged.
    """

    def __init__(self, width: float = 1.0, n_mels: int = 64, embed_dim: int = 64) -> None:
        super().__init__()
        chans = [_scaled(c, width) for c in (256, 384, 576, 864)]
        layers: list[nn.Module] = []
        prev = n_mels
        for c in chans:
            layers += [
                nn.Conv1d(prev, c, 3, 2, 1, bias=False),
                nn.BatchNorm1d(c),
                nn.ReLU(inplace=True),
            ]
            prev = c
        layers.append(nn.Conv1d(prev, embed_dim, 3, 2, 1, bias=True))
        self.model = nn.Sequential(*layers)
        self.embed_dim = embed_dim

    def forward(self, features: Tensor, normalize: bool = True) -> Tensor:
        """(B, 64, T) features -> (B, 64) embedding (unit L2 norm when ``normalize``)."""
        emb = self.model(features).mean(dim=2)
        return F.normalize(emb, p=2, dim=1) if normalize else emb


class SupervisedDecoder(nn.Module):
    """Embedding (B, 64) -> (B, 51) whitened [scale, 40 shape, 10 expr] (published layout)."""

    def __init__(self, embed_dim: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        self.classifier_scale = nn.Sequential(nn.Dropout(dropout), nn.Linear(embed_dim, 1))
        self.classifier_shape = nn.Sequential(nn.Dropout(dropout), nn.Linear(embed_dim, N_SHAPE))
        self.classifier_exp = nn.Sequential(nn.Dropout(dropout), nn.Linear(embed_dim, N_EXPR))

    def forward(self, emb: Tensor) -> Tensor:
        """(B, 64) -> (B, 51)."""
        return torch.cat(
            [self.classifier_scale(emb), self.classifier_shape(emb), self.classifier_exp(emb)],
            dim=1,
        )


class Generator(nn.Module):
    """Embedding (B, 64) -> image (B, 3, 64, 64) in [-1, 1] (transposed convolutions).

    ``model``: ConvT(64->1024, k4 s1 p0), ReLU, ConvT(->512), ReLU, ConvT(->256), ReLU,
    ConvT(->128), ReLU, ConvT(->64), ReLU (each k4 s2 p1), ConvT(64->3, k1), Tanh.
    """

    def __init__(self, width: float = 1.0, embed_dim: int = 64) -> None:
        super().__init__()
        chans = [_scaled(c, width) for c in (1024, 512, 256, 128, 64)]
        layers: list[nn.Module] = [nn.ConvTranspose2d(embed_dim, chans[0], 4, 1, 0), nn.ReLU(True)]
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(chans[-1], 3, 1, 1, 0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, emb: Tensor) -> Tensor:
        """(B, 64) -> (B, 3, 64, 64)."""
        return self.model(emb[:, :, None, None])


class FaceEmbed(nn.Module):
    """64 x 64 RGB image in [-1, 1] (B, 3, 64, 64) -> (B, 64) embedding (spec 3b)."""

    def __init__(self, width: float = 1.0, embed_dim: int = 64) -> None:
        super().__init__()
        chans = [_scaled(c, width) for c in (32, 64, 128, 256, 512)]
        layers: list[nn.Module] = [nn.Conv2d(3, chans[0], 1, 1, 0), nn.LeakyReLU(0.2, True)]
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(a, b, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(chans[-1], embed_dim, 4, 1, 0))
        self.model = nn.Sequential(*layers)

    def forward(self, image: Tensor) -> Tensor:
        """(B, 3, 64, 64) -> (B, 64)."""
        return self.model(image).flatten(1)


class Discriminator(nn.Module):
    """Real/fake logit from a face embedding: Linear(64, 1, no bias). (B, 64) -> (B, 1)."""

    def __init__(self, embed_dim: int = 64) -> None:
        super().__init__()
        self.model = nn.Linear(embed_dim, 1, bias=False)

    def forward(self, emb: Tensor) -> Tensor:
        """(B, 64) -> (B, 1) logits."""
        return self.model(emb)


class IdentityClassifier(nn.Module):
    """Identity logits from an embedding: Linear(64, n_identities, no bias)."""

    def __init__(self, n_identities: int, embed_dim: int = 64) -> None:
        super().__init__()
        self.model = nn.Linear(embed_dim, n_identities, bias=False)

    def forward(self, emb: Tensor) -> Tensor:
        """(B, 64) -> (B, n_identities) logits."""
        return self.model(emb)


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (if t > 1), 3x3 depthwise, 1x1 linear projection."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn_relu(cin, hidden, 1, 1))
        layers += [
            _conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """(B, cin, H, W) -> (B, cout, H / stride, W / stride)."""
        y = self.conv(x)
        return x + y if self.use_residual else y


# (expansion t, channels c, repeats n, first stride s) of the standard MobileNetV2.
_MBV2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
# Number of leading ``features`` modules whose output is the "intermediate" feature.
SPLIT_AFTER = 9


class MobileNetV2(nn.Module):
    """Image -> 3DMM regressor (student and expert share it; spec 3b).

    Input (B, 3, 120, 120) in [-1, 1]. ``features`` = stem + 17 inverted-residual blocks +
    1x1 conv to ``last_channel``; the first :data:`SPLIT_AFTER` modules give the
    intermediate features, the global average after the last gives the pooled features.
    Output (B, 102) whitened [12 pose, 40 shape, 10 expression, 40 texture].
    """

    def __init__(self, width: float = 1.0, last_channel: int = 1280, dropout: float = 0.2):
        super().__init__()
        stem = _scaled(32, width)
        layers: list[nn.Module] = [_conv_bn_relu(3, stem, 3, 2)]
        prev = stem
        for t, c, n, s in _MBV2_SETTINGS:
            out = _scaled(c, width)
            for i in range(n):
                layers.append(InvertedResidual(prev, out, s if i == 0 else 1, t))
                prev = out
        layers.append(_conv_bn_relu(prev, last_channel, 1, 1))
        self.features = nn.Sequential(*layers)
        for name, size in STUDENT_HEADS:
            setattr(self, name, nn.Sequential(nn.Dropout(dropout), nn.Linear(last_channel, size)))
        self.last_channel = last_channel
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_all(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, 3, H, W) -> (params (B, 102), pooled (B, last_channel), inter (B, C, h, w))."""
        inter = self.features[:SPLIT_AFTER](image)
        pooled = self.features[SPLIT_AFTER:](inter).mean(dim=(2, 3))
        params = torch.cat([getattr(self, name)(pooled) for name, _ in STUDENT_HEADS], dim=1)
        return params, pooled, inter

    def forward(self, image: Tensor) -> Tensor:
        """(B, 3, H, W) -> (B, 102) whitened parameters."""
        return self.forward_all(image)[0]


def resize_for_expert(image: Tensor, size: int = EXPERT_INPUT_SIZE) -> Tensor:
    """Bilinear resize (align_corners=True) of (B, 3, H, W) to (B, 3, size, size)."""
    return F.interpolate(image, size=(size, size), mode="bilinear", align_corners=True)


class FaceModelArrays(Protocol):
    """What :class:`TorchFaceModel` reads from a ``cmp_edge.facemodel.FaceModel``."""

    mean: np.ndarray
    shape_basis: np.ndarray
    expr_basis: np.ndarray


class TorchFaceModel(nn.Module):
    """Differentiable 3DMM reconstruction, consistent with ``FaceModel.reconstruct``.

    vertices = scale * (mean + reshape(shape_basis @ shape + expr_basis @ expr, (N, 3)))
    using the first 40 shape and 10 expression columns. ``vertex_indices`` keeps only
    those vertices (cheaper mesh losses on CPU). Input (B, 51) un-whitened
    [scale, 40 shape, 10 expr]; output (B, N', 3) in the face model's units.
    """

    mean: Tensor
    basis: Tensor

    def __init__(
        self, face_model: FaceModelArrays, vertex_indices: Sequence[int] | np.ndarray | None = None
    ) -> None:
        super().__init__()
        mean = np.array(face_model.mean, dtype=np.float32).reshape(-1, 3)
        n = mean.shape[0]
        shp = np.array(face_model.shape_basis[:, :N_SHAPE], dtype=np.float32)
        exp = np.array(face_model.expr_basis[:, :N_EXPR], dtype=np.float32)
        if shp.shape != (3 * n, N_SHAPE) or exp.shape != (3 * n, N_EXPR):
            raise ValueError(
                f"face model bases must be (3N, >=40) and (3N, >=10) with N={n}; "
                f"got {face_model.shape_basis.shape} and {face_model.expr_basis.shape}"
            )
        basis = np.concatenate([shp, exp], axis=1).reshape(n, 3, N_SHAPE + N_EXPR)
        if vertex_indices is not None:
            idx = np.asarray(vertex_indices, dtype=np.int64)
            mean, basis = mean[idx], basis[idx]
        self.register_buffer("mean", torch.from_numpy(np.ascontiguousarray(mean)), persistent=False)
        self.register_buffer(
            "basis", torch.from_numpy(np.ascontiguousarray(basis)), persistent=False
        )

    @property
    def num_vertices(self) -> int:
        """Number of (kept) vertices N'."""
        return int(self.mean.shape[0])

    def forward(self, params: Tensor) -> Tensor:
        """(B, 51) un-whitened [scale, shape, expr] -> (B, N', 3) vertices."""
        offsets = torch.einsum("nck,bk->bnc", self.basis, params[:, 1:])
        return params[:, :1, None] * (self.mean[None] + offsets)


class SupervisedCMP(nn.Module):
    """Features (B, 64, T) -> (B, 51) whitened parameters: encoder + supervised decoder."""

    def __init__(self, encoder: VoiceEncoder, decoder: SupervisedDecoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, features: Tensor) -> Tensor:
        """(B, 64, T) -> (B, 51)."""
        return self.decoder(self.encoder(features))

    def forward_outputs(self, features: Tensor) -> tuple[Tensor, ...]:
        """(B, 64, T) -> ((B, 51) whitened parameters, (B, 64) unit-norm voice embedding)."""
        embedding = self.encoder(features)
        return self.decoder(embedding), embedding


class DistilledCMP(nn.Module):
    """Features (B, 64, T) -> (B, 51) whitened parameters through the image path.

    encoder -> generator (64 x 64) -> resize to 120 -> student -> [12:62] (40 shape + 10
    expr, whitened with the same statistics as the supervised layout), with the scale
    entry set to 0 (the whitened mean scale: the image path does not predict it).
    """

    def __init__(self, encoder: VoiceEncoder, generator: Generator, student: MobileNetV2) -> None:
        super().__init__()
        self.encoder = encoder
        self.generator = generator
        self.student = student

    def forward_with_image(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """(B, 64, T) -> ((B, 51) whitened parameters, (B, 3, 64, 64) generated image)."""
        params, _embedding, image = self.forward_outputs(features)
        return params, image

    def forward_outputs(self, features: Tensor) -> tuple[Tensor, ...]:
        """(B, 64, T) -> ((B, 51) parameters, (B, 64) embedding, (B, 3, 64, 64) image)."""
        embedding = self.encoder(features)
        image = self.generator(embedding)
        out = self.student(resize_for_expert(image))[:, STUDENT_SHAPE_EXPR]
        return torch.cat([torch.zeros_like(out[:, :1]), out], dim=1), embedding, image

    def forward(self, features: Tensor) -> Tensor:
        """(B, 64, T) -> (B, 51)."""
        return self.forward_with_image(features)[0]


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def build(name: str, config: dict[str, Any], n_identities: int = 1) -> nn.Module:
    """Construct network ``name`` (a checkpoint's network name) from a trainer config.

    Names: voice_encoder, decoder, generator, face_embed, discriminator, classifier,
    speaker_classifier, student, expert. Widths come from ``config`` keys
    ``encoder_width``, ``generator_width``, ``face_embed_width``, ``mobilenet_width``,
    ``mobilenet_last_channel``, ``dropout``.
    """
    w = config
    if name == "voice_encoder":
        return VoiceEncoder(float(w["encoder_width"]))
    if name == "decoder":
        return SupervisedDecoder(dropout=float(w["dropout"]))
    if name == "generator":
        return Generator(float(w["generator_width"]))
    if name == "face_embed":
        return FaceEmbed(float(w["face_embed_width"]))
    if name == "discriminator":
        return Discriminator()
    if name in ("classifier", "speaker_classifier"):
        return IdentityClassifier(n_identities)
    if name in ("student", "expert"):
        return MobileNetV2(float(w["mobilenet_width"]), int(w["mobilenet_last_channel"]))
    raise ValueError(f"unknown network name {name!r}")
