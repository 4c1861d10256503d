"""Losses against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from train import losses


def test_triplet_hand_computed() -> None:
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[3.0, 4.0], [1.0, 0.0]])  # d = 5, 1
    n = torch.tensor([[0.0, 1.0], [0.0, 3.0]])  # d = 1, 3
    # max(5 - 1 + 1, 0) = 5 ; max(1 - 3 + 1, 0) = 0 ; mean 2.5
    assert float(losses.triplet_loss(a, p, n, eps=0.0)) == pytest.approx(2.5)


def test_triplet_matches_torch() -> None:
    g = torch.Generator().manual_seed(0)
    a, p, n = (torch.randn(8, 5, 3, generator=g) for _ in range(3))
    ref = torch.nn.TripletMarginLoss(margin=1.0, p=2)(a.flatten(1), p.flatten(1), n.flatten(1))
    assert float(losses.triplet_loss(a, p, n)) == pytest.approx(float(ref), rel=1e-6)


def _cond(x: np.ndarray) -> np.ndarray:
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = (x @ x.T + 1) / 2
    return s / s.sum(axis=1, keepdims=True)


def test_pkt_both_directions_by_hand() -> None:
    expert = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    student = np.array([[1.0, 0.2], [0.3, 1.0], [-1.0, 0.5]])
    # Row 0 of the expert's matrix by hand: cosines (1, 0, 1/sqrt2) -> (1, .5, .8536).
    pe = _cond(expert)
    c = 1 / math.sqrt(2)
    row = np.array([1.0, 0.5, (c + 1) / 2])
    np.testing.assert_allclose(pe[0], row / row.sum())
    ps = _cond(student)
    eps = 1e-7
    kl_es = np.mean(pe * np.log((pe + eps) / (ps + eps)))
    kl_se = np.mean(ps * np.log((ps + eps) / (pe + eps)))
    te, ts = torch.tensor(expert), torch.tensor(student)
    assert float(losses.pkt_loss(te, ts, "paper")) == pytest.approx(kl_es, rel=1e-6)
    assert float(losses.pkt_loss(te, ts, "published")) == pytest.approx(kl_se, rel=1e-6)
    assert kl_es != pytest.approx(kl_se, rel=1e-3)
    assert float(losses.pkt_loss(te, te)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="direction"):
        losses.pkt_loss(te, ts, "sideways")  # type: ignore[arg-type]


def test_pkt_flattens_feature_maps() -> None:
    x = torch.randn(4, 3, 2, 2)
    y = torch.randn(4, 3, 2, 2)
    assert float(losses.pkt_loss(x, y)) == pytest.approx(
        float(losses.pkt_loss(x.flatten(1), y.flatten(1)))
    )


def test_gan_losses_by_hand() -> None:
    real = torch.tensor([[0.0], [2.0]])
    fake = torch.tensor([[1.0], [-1.0]])
    cls = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    ids = torch.tensor([0, 1])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    bce_real = -(math.log(sig(0.0)) + math.log(sig(2.0))) / 2
    bce_fake = -(math.log(1 - sig(1.0)) + math.log(1 - sig(-1.0))) / 2
    nll = -(math.log(0.5) + math.log(1 / (1 + math.e))) / 2
    got = losses.discriminator_loss(real, fake, cls, ids)
    assert float(got) == pytest.approx(bce_real + bce_fake + nll, rel=1e-6)
    g = losses.generator_adversarial_loss(fake, cls, ids)
    bce_g = -(math.log(sig(1.0)) + math.log(sig(-1.0))) / 2
    assert float(g) == pytest.approx(bce_g + nll, rel=1e-6)
