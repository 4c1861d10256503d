"""Losses of the CMP recipes (spec sections 3b): triplet, PKT and the GAN terms.

PKT direction. The paper's Eq. 6 is KL(expert || student); the published training
script passes its arguments the other way round and computes KL(student || expert).
:func:`pkt_loss` exposes both: ``direction="paper"`` (the default here, also the
original PKT formulation: the teacher's distribution is the reference) or
``direction="published"`` (reproduces the reference script).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "PKT_DIRECTIONS",
    "discriminator_loss",
    "generator_adversarial_loss",
    "pkt_conditional_probabilities",
    "pkt_kl",
    "pkt_loss",
    "triplet_loss",
]

PKT_DIRECTIONS = ("paper", "published")
PktDirection = Literal["paper", "published"]


def triplet_loss(
    anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, eps: float = 1e-6
) -> Tensor:
    """Triplet margin loss with p = 2 (same as ``torch.nn.TripletMarginLoss(margin, p=2)``).

    Inputs (B, ...) are flattened to (B, D); d(x, y) = ||x - y + eps||_2;
    loss = mean_b max(d(a, p) - d(a, n) + margin, 0). Scalar.
    """
    a, p, n = anchor.flatten(1), positive.flatten(1), negative.flatten(1)
    d_ap = torch.linalg.vector_norm(a - p + eps, dim=1)
    d_an = torch.linalg.vector_norm(a - n + eps, dim=1)
    return torch.clamp(d_ap - d_an + margin, min=0.0).mean()


def pkt_conditional_probabilities(features: Tensor, eps: float = 1e-7) -> Tensor:
    """(B, ...) features -> (B, B) row-stochastic similarity matrix.

    Rows are flattened and L2-normalised; cosine similarities are mapped to [0, 1] by
    (x + 1) / 2 and each row is divided by its sum.
    """
    x = features.flatten(1)
    x = x / (torch.linalg.vector_norm(x, dim=1, keepdim=True) + eps)
    sim = (x @ x.t() + 1.0) / 2.0
    return sim / sim.sum(dim=1, keepdim=True)


def pkt_kl(reference: Tensor, other: Tensor, eps: float = 1e-7) -> Tensor:
    """mean over all entries of P * log((P + eps) / (Q + eps)) for P, Q = the two
    conditional-probability matrices of ``reference`` and ``other`` (KL(P || Q) / B)."""
    p = pkt_conditional_probabilities(reference, eps)
    q = pkt_conditional_probabilities(other, eps)
    return (p * torch.log((p + eps) / (q + eps))).mean()


def pkt_loss(expert: Tensor, student: Tensor, direction: PktDirection = "paper") -> Tensor:
    """Probabilistic knowledge transfer between expert and student features (B, ...).

    ``direction="paper"``: KL(expert || student); ``"published"``: KL(student || expert),
    what the reference script computes.
    """
    if direction == "paper":
        return pkt_kl(expert, student)
    if direction == "published":
        return pkt_kl(student, expert)
    raise ValueError(f"PKT direction must be one of {PKT_DIRECTIONS}, got {direction!r}")


def discriminator_loss(
    real_logits: Tensor, fake_logits: Tensor, real_class_logits: Tensor, real_ids: Tensor
) -> Tensor:
    """Discriminator step: BCE(sigmoid(D(F(real))), 1) + BCE(sigmoid(D(F(fake))), 0)
    + NLL(log_softmax(C(F(real))), face identity). Logits (B, 1), (B, 1), (B, K); ids (B,)."""
    return (
        F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        + F.cross_entropy(real_class_logits, real_ids)
    )


def generator_adversarial_loss(
    fake_logits: Tensor, fake_class_logits: Tensor, voice_ids: Tensor
) -> Tensor:
    """Generator step: BCE(sigmoid(D(F(fake))), 1) + NLL(log_softmax(C(F(fake))), voice id)."""
    return F.binary_cross_entropy_with_logits(
        fake_logits, torch.ones_like(fake_logits)
    ) + F.cross_entropy(fake_class_logits, voice_ids)
