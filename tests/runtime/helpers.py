"""Shared test helpers: synthetic voiced audio and tiny exportable networks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SPEECH_FILES = (
    "speech/librispeech/train-clean-100/4014-186175-0000.flac",
    "speech/librispeech/train-clean-100/1963-142393-0000.flac",
    "speech/librispeech/test-other/1688-142285-0009.flac",
    "speech/librispeech_ogg/198-209-0000.ogg",
)


def synthetic_voice(
    seconds: float, sr: int = 16000, f0: float = 140.0, seed: int = 0
) -> np.ndarray:
    """A voiced-like harmonic signal with syllable-rate envelope (WebRTC VAD marks it speech)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f = f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    ph = 2 * np.pi * np.cumsum(f) / sr
    x = sum((0.6 / k) * np.sin(k * ph) for k in range(1, 25))
    env = (0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t)) ** 2
    return (x * env * 0.2 + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def tiny_net(seed: int = 0) -> Any:
    """A small torch network with the bundle signature: (B, 64, T) -> (B, 51)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(
                nn.Conv1d(64, 32, 3, 2, 1, bias=False),
                nn.BatchNorm1d(32),
                nn.ReLU(),
                nn.Conv1d(32, 16, 3, 2, 1),
            )
            self.head = nn.Linear(16, 51)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            emb = nn.functional.normalize(self.conv(x).mean(dim=2), dim=1)
            return self.head(emb)

    net = Tiny().eval()
    with torch.no_grad():
        for bn in net.modules():
            if isinstance(bn, nn.BatchNorm1d):
                bn.running_mean.uniform_(-0.1, 0.1)
                bn.running_var.uniform_(0.5, 1.5)
    return net


def export_tiny(
    path: Path,
    face_model: Any,
    *,
    face_model_id: str | None = None,
    seed: int = 0,
    **meta_overrides: Any,
) -> Path:
    """Export :func:`tiny_net` as a bundle for ``face_model`` (dims from it)."""
    from export.core import bundle_metadata, export_onnx

    dims = {
        "vertices": int(face_model.mean.shape[0]),
        "shape": int(face_model.shape_basis.shape[1]),
        "expr": int(face_model.expr_basis.shape[1]),
    }
    rng = np.random.default_rng(seed)
    meta = bundle_metadata(
        kind="supervised",
        param_mean=np.concatenate([[1.0], rng.normal(0, 0.1, 50)]),
        param_std=np.concatenate([[0.02], np.full(50, 0.5)]),
        face_model_id=face_model_id or face_model.id,
        face_model_dims=dims,
        provenance={"source": "test"},
    )
    meta.update({f"cmp_edge.{k}": v for k, v in meta_overrides.items()})
    export_onnx(tiny_net(seed), path, meta)
    return path
