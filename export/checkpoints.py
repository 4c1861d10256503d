"""Build exportable networks from training checkpoints and from the published CMP files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cmp_edge.model.layout import PUBLISHED_SCALE_MEAN, PUBLISHED_SCALE_STD

__all__ = [
    "PUBLISHED_SCALE_MEAN",
    "PUBLISHED_SCALE_STD",
    "ExportSource",
    "load_published",
    "load_training_checkpoint",
]


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or of an unexpected layout."""


@dataclass
class ExportSource:
    """A network ready to export plus the metadata it needs.

    Attributes:
        net: features (B, 64, T) -> whitened params (B, 51).
        kind: metadata kind ("supervised", "distill", "published_supervised").
        param_mean, param_std: (51,) un-whitening.
        face_model_id: id of the face model the parameters refer to.
        face_model: the face model itself when the export must write it (published
            conversion), else None (the runtime finds it by id).
        provenance: JSON-friendly training provenance.
    """

    net: nn.Module
    kind: str
    param_mean: np.ndarray
    param_std: np.ndarray
    face_model_id: str
    face_model: Any = None
    provenance: dict[str, Any] = field(default_factory=dict)


def _load(path: str | os.PathLike[str], what: str) -> Any:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: {what} not found; check the path")
    with p.open("rb") as handle:
        head = handle.read(512)
    # torch.save writes a zip archive (PK..); older files are a pickle (0x80 ...) or a tar
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80" or head[257:262] == b"ustar"):
        raise CheckpointError(
            f"{p}: not a PyTorch checkpoint (not written by torch.save); "
            f"pass the {what} file (a .pt/.pth/.tar file)"
        )
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{p}: cannot read {what} ({type(exc).__name__}: {exc})") from None


def _strip(state: dict[str, Any], prefix: str = "module.") -> dict[str, Any]:
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in state.items()}


def _load_state(net: nn.Module, state: dict[str, Any], path: Path, what: str) -> None:
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"{path}: {what} does not fit the network ({first})") from None


def load_training_checkpoint(path: str | os.PathLike[str]) -> ExportSource:
    """A ``train.supervised`` or ``train.distill`` checkpoint (``RUN/last.pt``) -> source.

    Raises:
        CheckpointError: not a checkpoint of a kind that maps features to parameters.
    """
    from train.models import DistilledCMP, SupervisedCMP, build

    p = Path(path)
    ck = _load(p, "checkpoint")
    if not isinstance(ck, dict) or "kind" not in ck or "model" not in ck:
        raise CheckpointError(
            f"{p}: not a cmp-edge training checkpoint (no 'kind'/'model'); "
            "for the published files use --decoder and --face-tensors"
        )
    kind = ck["kind"]
    config = dict(ck.get("config") or {})
    nets = ck["model"]
    if kind == "supervised":
        enc, dec = build("voice_encoder", config), build("decoder", config)
        _load_state(enc, nets["voice_encoder"], p, "voice_encoder")
        _load_state(dec, nets["decoder"], p, "decoder")
        net: nn.Module = SupervisedCMP(enc, dec)  # type: ignore[arg-type]
    elif kind == "distill":
        enc, gen, student = (build(n, config) for n in ("voice_encoder", "generator", "student"))
        _load_state(enc, nets["voice_encoder"], p, "voice_encoder")
        _load_state(gen, nets["generator"], p, "generator")
        _load_state(student, nets["student"], p, "student")
        net = DistilledCMP(enc, gen, student)  # type: ignore[arg-type]
    else:
        raise CheckpointError(
            f"{p}: checkpoint kind {kind!r} does not map voices to faces; "
            "export a 'supervised' or 'distill' checkpoint"
        )
    mean = np.asarray(ck["param_mean"], dtype=np.float64)
    std = np.asarray(ck["param_std"], dtype=np.float64)
    provenance = {
        "source": "checkpoint",
        "checkpoint": p.name,
        "kind": kind,
        "step": int(ck.get("step", 0)),
        "config": config,
        "feature_preset": ck.get("feature_preset", "cmp"),
    }
    return ExportSource(
        net=net.eval(),
        kind=kind,
        param_mean=mean,
        param_std=std,
        face_model_id=str(ck["face_model_id"]),
        provenance=provenance,
    )


def _tensor(state: dict[str, Any], key: str, path: Path) -> np.ndarray:
    if key not in state:
        raise CheckpointError(f"{path}: key {key!r} is missing; is this 2D-to-3D-pretrained.tar?")
    return np.asarray(state[key].detach().cpu().numpy(), dtype=np.float32)


def published_whitening(face_tensors: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """``module.param_mean`` / ``module.param_std`` (>= 62 entries) of the image-to-3D tar."""
    p = Path(face_tensors)
    ck = _load(p, "face tensors")
    state = ck.get("state_dict", ck) if isinstance(ck, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{p}: not a dict of tensors; pass 2D-to-3D-pretrained.tar")
    pmean = _tensor(state, "module.param_mean", p).reshape(-1)
    pstd = _tensor(state, "module.param_std", p).reshape(-1)
    if pmean.shape[0] < 62 or pstd.shape[0] < 62:
        raise CheckpointError(f"{p}: param_mean/param_std have {pmean.shape[0]} entries, need 62")
    return pmean.astype(np.float64), pstd.astype(np.float64)


def load_published(
    encoder: str | os.PathLike[str],
    decoder: str | os.PathLike[str],
    face_tensors: str | os.PathLike[str],
    triangles: Any = None,
) -> ExportSource:
    """The published supervised CMP (voice_embedding.pth + decoder + 2D-to-3D tar) -> source."""
    from train.models import SupervisedCMP, SupervisedDecoder, VoiceEncoder

    enc_path, dec_path = Path(encoder), Path(decoder)
    enc_state = _load(enc_path, "voice encoder")
    dec_state = _load(dec_path, "decoder")
    for path, state in ((enc_path, enc_state), (dec_path, dec_state)):
        if not isinstance(state, dict):
            raise CheckpointError(f"{path}: not a state dict")
    enc_state = _strip(enc_state.get("state_dict", enc_state))
    dec_state = _strip(dec_state.get("state_dict", dec_state))
    enc, dec = VoiceEncoder(), SupervisedDecoder()
    _load_state(enc, enc_state, enc_path, "voice encoder")
    _load_state(dec, dec_state, dec_path, "decoder")
    from cmp_edge.facemodel import load_synergynet

    pmean, pstd = published_whitening(face_tensors)
    # The face model in mm: mean/bases are the published u/w_shp/w_exp times
    # ``source_scale``. Vertices = s_rel * (mean + W a) with s_rel = s / PUBLISHED_SCALE_MEAN,
    # i.e. the published s * (u + W a) times source_scale / PUBLISHED_SCALE_MEAN.
    fm = load_synergynet(face_tensors, triangles)
    mean = np.concatenate([[1.0], pmean[12:62]])
    std = np.concatenate([[PUBLISHED_SCALE_STD / PUBLISHED_SCALE_MEAN], pstd[12:62]])
    provenance = {
        "source": "published CMP checkpoints (supervised)",
        "encoder": enc_path.name,
        "decoder": dec_path.name,
        "face_tensors": Path(face_tensors).name,
        "triangles": triangles is not None,
        "published_scale_mean": PUBLISHED_SCALE_MEAN,
        "published_scale_std": PUBLISHED_SCALE_STD,
        "mm_per_published_unit": float(fm.source_scale) / PUBLISHED_SCALE_MEAN,
        "scale_note": "params['scale'] is relative to the published mean scale; "
        "published s = scale * published_scale_mean",
    }
    return ExportSource(
        net=SupervisedCMP(enc, dec).eval(),
        kind="published_supervised",
        param_mean=mean,
        param_std=std,
        face_model_id=fm.id,
        face_model=fm,
        provenance=provenance,
    )
