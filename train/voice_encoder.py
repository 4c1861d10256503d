"""Voice encoder pretraining by speaker identification.

The encoder's (un-normalised) 64-d embedding feeds a linear speaker classifier over
the training identities; loss = cross-entropy. The anchor and the positive crop of each
triplet batch are both used (2 x batch utterances per step). The downstream trainers
load the encoder with ``--encoder RUN/last.pt``.

Usage: ``python -m train.voice_encoder --data DIR --out RUN --steps K --seed S``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from train.common import adam, add_encoder_arguments, open_train_data
from train.engine import Context, Task, main_for
from train.models import IdentityClassifier, VoiceEncoder
from train.samplers import TripletSampler
from train.supervised import resolve_face_model_id

__all__ = ["VoiceEncoderTask", "main"]

DEFAULTS = {"steps": 2000, "batch_size": 64, "lr": 2e-4}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the voice-encoder trainer."""
    add_encoder_arguments(p)
    p.add_argument("--face-model", default="default", help="face model file or 'default'")


class VoiceEncoderTask(Task):
    """Encoder + speaker classifier, cross-entropy on speaker identity."""

    kind = "voice_encoder"

    def __init__(self, cfg: dict[str, Any], ctx: Context) -> None:
        self.device = ctx.device
        data = open_train_data(cfg)
        self.sampler = TripletSampler(
            data, int(cfg["batch_size"]), int(cfg["seed"]), (cfg["crop_min"], cfg["crop_max"])
        )
        mean, std = data.whitening(float(cfg["scale_std"]))
        self.param_mean, self.param_std = mean.tolist(), std.tolist()
        self.encoder = VoiceEncoder(float(cfg["encoder_width"])).to(ctx.device)
        self.classifier = IdentityClassifier(len(data)).to(ctx.device)
        self.networks = {"voice_encoder": self.encoder, "speaker_classifier": self.classifier}
        self.params = list(self.encoder.parameters()) + list(self.classifier.parameters())
        self.optimizers = {"adam": adam(self.params, float(cfg["lr"]))}
        self.face_model_id = resolve_face_model_id(cfg)

    def train_step(self, step: int, ctx: Context) -> dict[str, float]:
        """One Adam step of speaker classification."""
        b = self.sampler.batch(step, ctx.rank, ctx.world).to(self.device)
        self.encoder.train()
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        logits = self.classifier(self.encoder(torch.cat([b.anchor, b.positive]), normalize=False))
        labels = torch.cat([b.speaker, b.speaker])
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        ctx.average_gradients(self.params)
        opt.step()
        acc = (logits.argmax(1) == labels).float().mean()
        return {"loss": float(loss.detach()), "accuracy": float(acc)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return main_for(
        __doc__.splitlines()[0],
        DEFAULTS,
        add_arguments,
        VoiceEncoderTask,
        argv,
        prog="python -m train.voice_encoder",
    )


if __name__ == "__main__":
    raise SystemExit(main())
