"""Build exportable networks from training checkpoints and from the published CMP files."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "PUBLISHED_SCALE_MEAN",
    "PUBLISHED_SCALE_STD",
    "ExportSource",
    "load_published",
    "load_training_checkpoint",
]

# Whitening of the scale entry of the published supervised decoder (spec section 3).
PUBLISHED_SCALE_MEAN = 0.0005920184194110334
PUBLISHED_SCALE_STD = 1.538597731841497e-05


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


def published_face_model(face_tensors: str | os.PathLike[str], triangles: Any = None) -> Any:
    """The 3DMM of the published image-to-3D checkpoint as a cmp-edge FaceModel.

    Args:
        face_tensors: ``2D-to-3D-pretrained.tar`` (dict with ``state_dict`` holding
            ``module.u`` (3N, 1), ``module.w_shp`` (3N, 40), ``module.w_exp`` (3N, 10)).
        triangles: (F, 3) vertex indices, when available (the tar holds none).

    Returns:
        (FaceModel, param_mean (62+,), param_std (62+,)).
    """
    from cmp_edge.facemodel import FaceModel

    p = Path(face_tensors)
    ck = _load(p, "face tensors")
    state = ck.get("state_dict", ck) if isinstance(ck, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{p}: not a dict of tensors; pass 2D-to-3D-pretrained.tar")
    u = _tensor(state, "module.u", p).reshape(-1)
    w_shp = _tensor(state, "module.w_shp", p)
    w_exp = _tensor(state, "module.w_exp", p)
    pmean = _tensor(state, "module.param_mean", p).reshape(-1)
    pstd = _tensor(state, "module.param_std", p).reshape(-1)
    n = u.shape[0] // 3
    if u.shape[0] != 3 * n or w_shp.shape[0] != 3 * n or w_exp.shape[0] != 3 * n:
        raise CheckpointError(
            f"{p}: u/w_shp/w_exp row counts {u.shape}/{w_shp.shape}/{w_exp.shape} differ"
        )
    if pmean.shape[0] < 62 or pstd.shape[0] < 62:
        raise CheckpointError(
            f"{p}: param_mean/param_std have {pmean.shape[0]} entries, need >= 62"
        )
    digest = hashlib.sha1(u.tobytes() + w_shp[:64].tobytes()).hexdigest()[:10]
    tri = (
        np.zeros((0, 3), np.int32)
        if triangles is None
        else np.ascontiguousarray(np.asarray(triangles, dtype=np.int32).reshape(-1, 3))
    )
    landmarks = (
        {
            "oicd_left": 2217,
            "oicd_right": 14607,
            "forehead_left": 1678,
            "forehead_right": 42117,
            "cheek_left": 2294,
            "cheek_right": 13635,
            "ear_left": 20636,
            "ear_right": 34153,
            "mid_left": 2130,
            "mid_right": 15003,
        }
        if n == 53215
        else {}
    )
    fm = FaceModel(
        mean=u.reshape(n, 3),
        shape_basis=w_shp,
        expr_basis=w_exp,
        triangles=tri,
        landmarks=landmarks,
        shape_std=np.ones(w_shp.shape[1], np.float32),
        expr_std=np.ones(w_exp.shape[1], np.float32),
        units="3ddfa",
        id=f"cmp-published-bfm-{n}-{digest}",
    )
    return fm, pmean, pstd


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
    fm, pmean, pstd = published_face_model(face_tensors, triangles)
    mean = np.concatenate([[PUBLISHED_SCALE_MEAN], pmean[12:62].astype(np.float64)])
    std = np.concatenate([[PUBLISHED_SCALE_STD], pstd[12:62].astype(np.float64)])
    provenance = {
        "source": "published CMP checkpoints (supervised)",
        "encoder": enc_path.name,
        "decoder": dec_path.name,
        "face_tensors": Path(face_tensors).name,
        "triangles": triangles is not None,
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
