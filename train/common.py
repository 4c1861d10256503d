"""Pieces shared by several trainers: model-size options, encoder and expert loading,
face models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from cmp_edge.errors import CmpEdgeError
from cmp_edge.facemodel.packaged import DEFAULT_ID
from cmp_edge.model.layout import PUBLISHED_SCALE_MEAN, PUBLISHED_SCALE_STD
from train.data import VoxCeleb3D
from train.engine import load_checkpoint
from train.models import MobileNetV2, TorchFaceModel, VoiceEncoder

__all__ = [
    "SYNERGYNET_FACE_MODEL_ID",
    "SYNTH_FACE_MODEL_ID",
    "adam",
    "add_encoder_arguments",
    "add_mobilenet_arguments",
    "corpus_face_model_id",
    "load_encoder",
    "load_face_model",
    "load_mobilenet",
    "mesh_layer",
    "open_train_data",
]

#: Face model id of the synthetic corpora (``FaceModel.default()``, the packaged ICT head).
SYNTH_FACE_MODEL_ID = DEFAULT_ID
#: Face model id of the SynergyNet/3DDFA tensors (``FaceModel.load`` of the same file).
SYNERGYNET_FACE_MODEL_ID = "synergynet-3ddfa"
_IGM = "module.IGM."


def add_encoder_arguments(p: argparse.ArgumentParser) -> None:
    """--encoder-width, --crop-min/--crop-max."""
    p.add_argument("--encoder-width", type=float, default=1.0, help="voice encoder width")
    p.add_argument("--crop-min", type=int, default=300, help="shortest voice crop (frames)")
    p.add_argument("--crop-max", type=int, default=800, help="longest voice crop (frames)")


def add_mobilenet_arguments(p: argparse.ArgumentParser) -> None:
    """--mobilenet-width, --mobilenet-last-channel."""
    p.add_argument("--mobilenet-width", type=float, default=1.0, help="MobileNetV2 width")
    p.add_argument(
        "--mobilenet-last-channel", type=int, default=1280, help="MobileNetV2 last channel"
    )


def adam(params: Any, lr: float) -> torch.optim.Adam:
    """Adam with the published betas (0.5, 0.999)."""
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


def open_train_data(cfg: dict[str, Any], split: str = "train", **kw: Any) -> VoxCeleb3D:
    """The split of ``cfg['data']`` with the configured feature source and scale."""
    return VoxCeleb3D(
        cfg["data"],
        split,  # type: ignore[arg-type]
        features=cfg["features"],
        audio_root=cfg["audio"],
        scale=float(cfg["scale"]),
        **kw,
    )


def corpus_face_model_id(root: str | Path) -> str | None:
    """The face_model_id recorded in DATA/synth.json (synthetic corpora), else None."""
    path = Path(root) / "synth.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CmpEdgeError(f"{path}: not valid JSON ({exc})") from None
    value = meta["face_model_id"] if isinstance(meta, dict) and "face_model_id" in meta else None
    return str(value) if value is not None else None


def load_face_model(spec: str) -> Any:
    """``"default"`` -> ``FaceModel.default()``, otherwise ``FaceModel.load(spec)``."""
    from cmp_edge.facemodel import FaceModel

    return FaceModel.default() if spec == "default" else FaceModel.load(spec)


def mesh_layer(face_model: Any, n_vertices: int, seed: int) -> TorchFaceModel:
    """A reconstruction layer on a fixed random subset of ``n_vertices`` vertices plus
    every named landmark (0 keeps all vertices)."""
    n = int(np.asarray(face_model.mean).reshape(-1, 3).shape[0])
    if n_vertices <= 0 or n_vertices >= n:
        return TorchFaceModel(face_model)
    rng = np.random.default_rng(seed)
    keep = set(rng.choice(n, size=n_vertices, replace=False).tolist())
    keep |= {int(v) for v in getattr(face_model, "landmarks", {}).values()}
    return TorchFaceModel(face_model, sorted(keep))


def load_encoder(path: str | Path) -> tuple[VoiceEncoder, float]:
    """A voice encoder from a training checkpoint (any kind holding ``voice_encoder``) or
    from a published state dict (keys ``model.0.weight`` ...). Returns (encoder, width)."""
    p = Path(path)
    if not p.is_file():
        raise CmpEdgeError(f"{p}: encoder checkpoint not found")
    obj = torch.load(p, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "kind" in obj:
        obj = load_checkpoint(p)
        if "voice_encoder" not in obj["model"]:
            raise CmpEdgeError(f"{p}: a {obj['kind']!r} checkpoint without a voice encoder")
        state, width = obj["model"]["voice_encoder"], float(obj["config"]["encoder_width"])
    elif isinstance(obj, dict) and "model.0.weight" in obj:
        state = obj
        width = float(obj["model.0.weight"].shape[0]) / 256.0
    else:
        raise CmpEdgeError(f"{p}: neither a training checkpoint nor a voice encoder state dict")
    enc = VoiceEncoder(width)
    try:
        enc.load_state_dict(state)
    except RuntimeError as exc:
        raise CmpEdgeError(f"{p}: voice encoder weights do not fit ({exc})") from None
    return enc, width


def _synergynet_expert(path: Path, obj: Any) -> tuple[MobileNetV2, dict[str, Any]] | None:
    """The image-to-3DMM backbone of a SynergyNet checkpoint (spec sections 3 and 3b), or
    None when ``obj`` is not one: a dict (or a dict's ``state_dict``) with keys
    ``module.IGM.*`` (MobileNetV2, heads classifier_ori/shape/exp/texture, 102 outputs)
    and the whitening ``module.param_mean`` / ``module.param_std`` of 12 pose + 40 shape
    + 10 expression [+ 40 texture] values.

    Returns the network and a checkpoint-like dict (``kind`` "synergynet", ``config``
    with the MobileNetV2 size, 51-entry ``param_mean``/``param_std`` and
    ``face_model_id`` :data:`SYNERGYNET_FACE_MODEL_ID`). The shape/expression rows are
    entries 12:62 of the published whitening; the scale row is the relative one of the
    published conversion (mean 1.0, std 1.538597731841497e-05 / 0.0005920184194110334,
    docs/architecture.md), as vertices are mm (``--face-model`` the same file).
    """
    if not isinstance(obj, dict):
        return None
    state = obj.get("state_dict", obj)
    if not isinstance(state, dict) or not any(str(k).startswith(_IGM) for k in state):
        return None
    backbone = {k[len(_IGM) :]: v for k, v in state.items() if str(k).startswith(_IGM)}
    try:
        stem = int(backbone["features.0.0.weight"].shape[0])
        last = int(backbone["classifier_shape.1.weight"].shape[1])
    except (KeyError, AttributeError, IndexError):
        raise CmpEdgeError(f"{path}: SynergyNet checkpoint, not a MobileNetV2 layout") from None
    net = MobileNetV2(stem / 32.0, last)
    result = net.load_state_dict(backbone, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise CmpEdgeError(
            f"{path}: SynergyNet backbone does not fit a MobileNetV2 (missing {missing[:3]}, "
            f"unexpected {result.unexpected_keys[:3]})"
        )
    whitening = []
    for key in ("module.param_mean", "module.param_std"):
        if key not in state:
            raise CmpEdgeError(f"{path}: SynergyNet checkpoint without {key!r}")
        values = np.asarray(torch.as_tensor(state[key]).detach().cpu(), dtype=np.float64)
        values = values.reshape(-1)
        if values.size not in (62, 102):
            raise CmpEdgeError(f"{path}: {key} has {values.size} entries, expected 62 or 102")
        whitening.append(values[12:62].tolist())
    ckpt = {
        "kind": "synergynet",
        "model": {"expert": net.state_dict()},
        "config": {"mobilenet_width": stem / 32.0, "mobilenet_last_channel": last},
        "param_mean": [1.0, *whitening[0]],
        "param_std": [PUBLISHED_SCALE_STD / PUBLISHED_SCALE_MEAN, *whitening[1]],
        "face_model_id": SYNERGYNET_FACE_MODEL_ID,
    }
    return net, ckpt


def load_mobilenet(path: str | Path, name: str = "expert") -> tuple[MobileNetV2, dict[str, Any]]:
    """The image-to-3DMM network ``name`` of a training checkpoint, with the checkpoint.

    A SynergyNet checkpoint ("2D-to-3D-pretrained.tar": ``module.IGM.*`` backbone,
    ``module.param_mean``/``param_std``) is accepted as well and gives its backbone with
    a checkpoint-like dict (see :func:`_synergynet_expert`).
    """
    p = Path(path)
    if p.is_file():
        try:
            raw = torch.load(p, map_location="cpu", weights_only=True)
        except Exception:  # not loadable here: load_checkpoint reports it
            raw = None
        found = _synergynet_expert(p, raw)
        if found is not None:
            return found
    obj = load_checkpoint(path)
    if name not in obj["model"]:
        raise CmpEdgeError(f"{path}: a {obj['kind']!r} checkpoint without {name!r}")
    cfg = obj["config"]
    net = MobileNetV2(float(cfg["mobilenet_width"]), int(cfg["mobilenet_last_channel"]))
    net.load_state_dict(obj["model"][name])
    return net, obj


_M = TypeVar("_M", bound=nn.Module)


def freeze(module: _M) -> _M:
    """Eval mode and no gradients; returns ``module`` itself."""
    module.eval()
    for prm in module.parameters():
        prm.requires_grad_(False)
    return module
