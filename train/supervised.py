"""Supervised CMP: voice -> encoder -> decoder -> 51 whitened 3DMM parameters.

Loss = MSE(predicted, ground-truth whitened parameters) over the anchor, positive and
negative utterances + ``triplet_weight`` * triplet(margin 1, p 2) on the predicted
parameters (anchor, positive: another utterance of the same speaker, negative: another
speaker). Adam (lr 2e-4, betas 0.5/0.999), crops of 300-800 frames.

Usage: ``python -m train.supervised --data DIR --out RUN --steps K --seed S``.
With ``--encoder CKPT`` the pretrained voice encoder is loaded (and frozen unless
``--finetune-encoder``); otherwise the encoder is trained from scratch with the decoder.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from train.common import (
    adam,
    add_encoder_arguments,
    corpus_face_model_id,
    freeze,
    load_encoder,
    load_face_model,
    open_train_data,
)
from train.engine import Context, Task, main_for
from train.losses import triplet_loss
from train.models import SupervisedDecoder, VoiceEncoder
from train.samplers import TripletSampler

__all__ = ["SupervisedTask", "main"]

DEFAULTS = {"steps": 2000, "batch_size": 64, "lr": 2e-4}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the supervised trainer."""
    add_encoder_arguments(p)
    p.add_argument("--encoder", help="pretrained voice encoder checkpoint (train.voice_encoder)")
    p.add_argument("--finetune-encoder", action="store_true", help="train a loaded encoder too")
    p.add_argument("--dropout", type=float, default=0.2, help="decoder dropout")
    p.add_argument("--triplet-weight", type=float, default=1.0, help="weight of the triplet loss")
    p.add_argument("--triplet-margin", type=float, default=1.0)
    p.add_argument("--face-model", default="default", help="face model file or 'default'")


def resolve_face_model_id(cfg: dict[str, Any]) -> str:
    """The corpus' face model id (synth.json), else the id of ``--face-model``."""
    found = corpus_face_model_id(cfg["data"])
    return found if found is not None else str(load_face_model(cfg["face_model"]).id)


class SupervisedTask(Task):
    """Encoder + supervised decoder trained on triplet batches."""

    kind = "supervised"

    def __init__(self, cfg: dict[str, Any], ctx: Context) -> None:
        self.cfg, self.device = cfg, ctx.device
        data = open_train_data(cfg)
        self.sampler = TripletSampler(
            data, int(cfg["batch_size"]), int(cfg["seed"]), (cfg["crop_min"], cfg["crop_max"])
        )
        mean, std = data.whitening(float(cfg["scale_std"]))
        self.param_mean, self.param_std = mean.tolist(), std.tolist()
        self.mean = torch.tensor(mean, dtype=torch.float32, device=ctx.device)
        self.std = torch.tensor(std, dtype=torch.float32, device=ctx.device)
        if cfg["encoder"]:
            encoder, width = load_encoder(cfg["encoder"])
            cfg["encoder_width"] = width
            self.train_encoder = bool(cfg["finetune_encoder"])
        else:
            encoder = VoiceEncoder(float(cfg["encoder_width"]))
            self.train_encoder = True
        if not self.train_encoder:
            freeze(encoder)
        self.encoder = encoder.to(ctx.device)
        self.decoder = SupervisedDecoder(dropout=float(cfg["dropout"])).to(ctx.device)
        self.networks = {"voice_encoder": self.encoder, "decoder": self.decoder}
        self.params = list(self.decoder.parameters())
        if self.train_encoder:
            self.params += list(self.encoder.parameters())
        self.optimizers = {"adam": adam(self.params, float(cfg["lr"]))}
        self.face_model_id = resolve_face_model_id(cfg)

    def losses(self, step: int, ctx: Context) -> dict[str, torch.Tensor]:
        """Loss terms of ``step`` on this rank (no optimiser step)."""
        b = self.sampler.batch(step, ctx.rank, ctx.world).to(self.device)
        self.decoder.train()
        self.encoder.train(self.train_encoder)
        n = b.anchor.shape[0]
        pred = self.decoder(self.encoder(torch.cat([b.anchor, b.positive, b.negative])))
        pa, pp, pn = pred[:n], pred[n : 2 * n], pred[2 * n :]
        ta = (b.target - self.mean) / self.std
        tn = (b.negative_target - self.mean) / self.std
        l2 = F.mse_loss(pred, torch.cat([ta, ta, tn]))
        trip = triplet_loss(pa, pp, pn, margin=float(self.cfg["triplet_margin"]))
        return {"loss": l2 + float(self.cfg["triplet_weight"]) * trip, "l2": l2, "triplet": trip}

    def train_step(self, step: int, ctx: Context) -> dict[str, float]:
        """One Adam step on the batch of ``step``."""
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        terms = self.losses(step, ctx)
        terms["loss"].backward()
        ctx.average_gradients(self.params)
        opt.step()
        return {k: float(v.detach()) for k, v in terms.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return main_for(
        __doc__.splitlines()[0],
        DEFAULTS,
        add_arguments,
        SupervisedTask,
        argv,
        prog="python -m train.supervised",
    )


if __name__ == "__main__":
    raise SystemExit(main())
