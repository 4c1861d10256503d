"""Expert image -> 3DMM network (MobileNetV2) trained on the corpus' face images.

Images (faces/<name>/<k>.png) are resized to 120 x 120 and mapped to 102 whitened
values [12 pose, 40 shape, 10 expression, 40 texture]; loss = MSE on the 50 shape and
expression entries against the face's parameters, whitened with the training
statistics (pose and texture are not supervised: the corpus does not carry them).
The distiller (``train.distill --expert RUN/last.pt``) uses it frozen as the teacher.
A SynergyNet checkpoint (``--expert 2D-to-3D-pretrained.tar`` with ``--face-model`` the
same file) takes its place unchanged: its ``module.IGM.*`` MobileNetV2 is loaded and its
``module.param_mean``/``param_std`` entries 12:62 un-whiten shape and expression
(:func:`train.common.load_mobilenet`).

Usage: ``python -m train.expert --data DIR --out RUN --steps K --seed S``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from train.common import adam, add_mobilenet_arguments, open_train_data
from train.data import ImageSampler
from train.engine import Context, Task, main_for
from train.models import EXPERT_INPUT_SIZE, STUDENT_SHAPE_EXPR, MobileNetV2
from train.supervised import resolve_face_model_id

__all__ = ["ExpertTask", "main"]

DEFAULTS = {"steps": 3000, "batch_size": 64, "lr": 1e-3}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the expert trainer."""
    add_mobilenet_arguments(p)
    p.add_argument("--face-model", default="default", help="face model file or 'default'")


class ExpertTask(Task):
    """MobileNetV2 regression of shape and expression from face images."""

    kind = "expert"

    def __init__(self, cfg: dict[str, Any], ctx: Context) -> None:
        self.device = ctx.device
        data = open_train_data(cfg, require_images=True)
        size = EXPERT_INPUT_SIZE
        self.sampler = ImageSampler(data, int(cfg["batch_size"]), int(cfg["seed"]), size)
        mean, std = data.whitening(float(cfg["scale_std"]))
        self.param_mean, self.param_std = mean.tolist(), std.tolist()
        self.mean = torch.tensor(mean[1:], dtype=torch.float32, device=ctx.device)
        self.std = torch.tensor(std[1:], dtype=torch.float32, device=ctx.device)
        self.net = MobileNetV2(
            float(cfg["mobilenet_width"]), int(cfg["mobilenet_last_channel"])
        ).to(ctx.device)
        self.networks = {"expert": self.net}
        self.params = list(self.net.parameters())
        self.optimizers = {"adam": adam(self.params, float(cfg["lr"]))}
        self.face_model_id = resolve_face_model_id(cfg)

    def train_step(self, step: int, ctx: Context) -> dict[str, float]:
        """One Adam step on a batch of face images."""
        b = self.sampler.batch(step, ctx.rank, ctx.world).to(self.device)
        self.net.train()
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        pred = self.net(b.images)[:, STUDENT_SHAPE_EXPR]
        loss = F.mse_loss(pred, (b.target[:, 1:] - self.mean) / self.std)
        loss.backward()
        ctx.average_gradients(self.params)
        opt.step()
        return {"loss": float(loss.detach())}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return main_for(__doc__.splitlines()[0], DEFAULTS, add_arguments, ExpertTask, argv)


if __name__ == "__main__":
    raise SystemExit(main())
