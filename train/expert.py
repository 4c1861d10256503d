"""Expert image -> 3DMM network (MobileNetV2) trained on the corpus' face images.

Images (faces/<name>/<k>.png, plus ``--render-faces`` face-only renders of random
prior faces, :mod:`train.face_pool`) are resized to 120 x 120 and mapped to 102 whitened
values [12 pose, 40 shape, 10 expression, 40 texture]. Loss =
``--param-weight`` x MSE on the 50 shape and expression entries against the face's
parameters, whitened with the training statistics (pose and texture are not
supervised: the corpus does not carry them), + ``--landmark-weight`` x mean squared
distance between the predicted and true positions of the face model's named
landmarks (68 ibug points and the ARE width pairs), in units of
``--landmark-unit`` (mm for the default face model); the landmark term weights each
coefficient by what it does to the face, as SynergyNet's 3D landmark loss does.
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

from cmp_edge.errors import CmpEdgeError
from train.common import adam, add_mobilenet_arguments, load_face_model, open_train_data
from train.engine import Context, Task, main_for
from train.models import EXPERT_INPUT_SIZE, STUDENT_SHAPE_EXPR, MobileNetV2, TorchFaceModel
from train.samplers import ImageSampler
from train.supervised import resolve_face_model_id

__all__ = ["ExpertTask", "main"]

DEFAULTS = {"steps": 3000, "batch_size": 64, "lr": 1e-3}
#: Values of the options added after the first checkpoints (also used by the
#: distiller's inline expert, whose configuration lacks them).
OPTION_DEFAULTS: dict[str, Any] = {
    "render_faces": 0,
    "render_workers": 2,
    "param_weight": 1.0,
    "landmark_weight": 0.0,
    "landmark_unit": 1.0,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the expert trainer."""
    add_mobilenet_arguments(p)
    p.add_argument("--face-model", default="default", help="face model file or 'default'")
    p.add_argument(
        "--render-faces",
        type=int,
        default=0,
        help="add this many face-only renders of random prior faces (default face model)",
    )
    p.add_argument("--render-workers", type=int, default=2, help="processes rendering them")
    p.add_argument("--param-weight", type=float, default=1.0, help="whitened-parameter MSE")
    p.add_argument("--landmark-weight", type=float, default=0.0, help="landmark MSE weight")
    p.add_argument("--landmark-unit", type=float, default=1.0, help="landmark distance unit")


class ExpertTask(Task):
    """MobileNetV2 regression of shape and expression from face images."""

    kind = "expert"

    def __init__(self, cfg: dict[str, Any], ctx: Context) -> None:
        self.device = ctx.device
        self.cfg = cfg
        for key, value in OPTION_DEFAULTS.items():  # older checkpoints, inline experts
            cfg.setdefault(key, value)
        data = open_train_data(cfg, require_images=True)
        self.face_model_id = resolve_face_model_id(cfg)
        self.sampler = ImageSampler(
            data, int(cfg["batch_size"]), int(cfg["seed"]), EXPERT_INPUT_SIZE
        )
        if int(cfg["render_faces"]) > 0:
            self.sampler.add_pool(*self._pool(self.sampler.image_size))
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
        self.landmarks: TorchFaceModel | None = None
        if float(cfg["landmark_weight"]) > 0:
            fm = load_face_model(cfg["face_model"])
            rows = sorted({int(v) for v in getattr(fm, "landmarks", {}).values()})
            if not rows:
                raise CmpEdgeError(f"--landmark-weight: face model {fm.id!r} has no landmarks")
            self.landmarks = TorchFaceModel(fm, rows).to(ctx.device)

    def _pool(self, size: int) -> tuple[Any, Any]:
        """The ``--render-faces`` pool: (images, targets) at ``size`` pixels."""
        from cmp_edge.facemodel import FaceModel
        from train.face_pool import render_pool

        if self.face_model_id != str(FaceModel.default().id):
            raise CmpEdgeError(
                f"--render-faces draws faces of the default face model, the corpus uses "
                f"{self.face_model_id!r}"
            )
        n, seed = int(self.cfg["render_faces"]), int(self.cfg["seed"])
        return render_pool(n, seed, size, int(self.cfg["render_workers"]))

    def train_step(self, step: int, ctx: Context) -> dict[str, float]:
        """One Adam step on a batch of face images."""
        b = self.sampler.batch(step, ctx.rank, ctx.world).to(self.device)
        self.net.train()
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        pred = self.net(b.images)[:, STUDENT_SHAPE_EXPR]
        param_mse = F.mse_loss(pred, (b.target[:, 1:] - self.mean) / self.std)
        loss = float(self.cfg["param_weight"]) * param_mse
        out = {"param_mse": float(param_mse.detach())}
        if self.landmarks is not None:
            unit = float(self.cfg["landmark_unit"])
            scale = b.target[:, :1]
            guess = self.landmarks(torch.cat([scale, pred * self.std + self.mean], dim=1))
            truth = self.landmarks(b.target)
            landmark_mse = (guess - truth).div(unit).square().sum(dim=2).mean()
            loss = loss + float(self.cfg["landmark_weight"]) * landmark_mse
            out["landmark_mse"] = float(landmark_mse.detach())
        loss.backward()
        ctx.average_gradients(self.params)
        opt.step()
        out["loss"] = float(loss.detach())
        return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return main_for(
        __doc__.splitlines()[0],
        DEFAULTS,
        add_arguments,
        ExpertTask,
        argv,
        prog="python -m train.expert",
    )


if __name__ == "__main__":
    raise SystemExit(main())
