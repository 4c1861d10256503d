"""Distilled ("unsupervised") CMP: voice -> generator -> face image -> student 3DMM.

Networks (spec section 3b): a frozen pretrained voice encoder (``--encoder``, required:
the published setup keeps it out of every optimiser; ``--train-encoder`` instead trains
it with the generator, from scratch or from ``--encoder``), the generator, a face-embedding network
with a real/fake discriminator and an identity classifier, the student MobileNetV2 and
a frozen expert MobileNetV2 (``--expert``: a ``train.expert`` checkpoint or a SynergyNet
checkpoint such as the published "2D-to-3D-pretrained.tar", then with ``--face-model``
the same file; without it an expert is first trained on the corpus' face images into
RUN/expert/ with ``--expert-steps`` steps).

Each step: (1) discriminator step on real faces vs generated faces (BCE real/fake +
identity NLL on real faces); (2) generator + student step: BCE(fake -> real) + identity
NLL of the voice's speaker + distillation + triplet, where distillation =
``mesh_weight`` * MSE(expert mesh, student mesh) + ``pkt_weight`` * (PKT(pooled) +
PKT(intermediate)) and triplet = ``triplet_weight`` * triplet(margin 1) on the student's
meshes of (anchor, positive, negative). Meshes are dense reconstructions with the face
model (optionally on a fixed vertex subset, ``--mesh-vertices``) divided by
``--mesh-unit``. ``--mode gan`` trains only the generator (the cascade baseline:
generator + expert without joint training).

Usage: ``python -m train.distill --data DIR --out RUN --steps K --seed S``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from cmp_edge.errors import CmpEdgeError
from train.common import (
    adam,
    add_encoder_arguments,
    add_mobilenet_arguments,
    corpus_face_model_id,
    freeze,
    load_encoder,
    load_face_model,
    load_mobilenet,
    mesh_layer,
    open_train_data,
)
from train.engine import Context, Task, load_checkpoint, main_for, run_training
from train.losses import (
    PKT_DIRECTIONS,
    discriminator_loss,
    generator_adversarial_loss,
    pkt_loss,
    triplet_loss,
)
from train.models import (
    STUDENT_SHAPE_EXPR,
    Discriminator,
    FaceEmbed,
    Generator,
    IdentityClassifier,
    MobileNetV2,
    VoiceEncoder,
    resize_for_expert,
)
from train.samplers import ImageSampler, TripletSampler

__all__ = ["DistillTask", "main"]

DEFAULTS = {"steps": 50000, "batch_size": 64, "lr": 2e-4}
GENERATED_SIZE = 64


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the distillation trainer."""
    add_encoder_arguments(p)
    add_mobilenet_arguments(p)
    p.add_argument("--encoder", help="pretrained voice encoder checkpoint (frozen; required)")
    p.add_argument(
        "--train-encoder",
        action="store_true",
        help="train the voice encoder with the generator (not the published setup)",
    )
    p.add_argument(
        "--expert", help="expert: train.expert or SynergyNet checkpoint; trained here if absent"
    )
    p.add_argument("--expert-steps", type=int, default=1000, help="steps of an inline expert")
    p.add_argument("--expert-lr", type=float, default=1e-3, help="lr of an inline expert")
    p.add_argument(
        "--expert-render-faces",
        type=int,
        default=0,
        help="face-only renders for an inline expert (train.expert --render-faces)",
    )
    p.add_argument("--mode", choices=("joint", "gan"), default="joint")
    p.add_argument(
        "--init",
        help="start the generator, face embedding, discriminator, classifier and student "
        "from this distill checkpoint (e.g. a --mode gan run: joint fine-tuning of the baseline)",
    )
    p.add_argument("--generator-width", type=float, default=1.0)
    p.add_argument("--face-embed-width", type=float, default=1.0)
    p.add_argument("--student-init", choices=("expert", "random"), default="expert")
    p.add_argument("--embedding-noise", type=float, default=0.05)
    p.add_argument("--mesh-weight", type=float, default=0.5)
    p.add_argument("--pkt-weight", type=float, default=10000.0)
    p.add_argument("--pkt-direction", choices=PKT_DIRECTIONS, default="paper")
    p.add_argument("--triplet-weight", type=float, default=1.5)
    p.add_argument("--triplet-margin", type=float, default=1.0)
    p.add_argument("--mesh-vertices", type=int, default=0, help="vertex subset (0: all)")
    p.add_argument("--mesh-unit", type=float, default=1.0, help="divide meshes by this")
    p.add_argument("--face-model", default="default", help="face model file or 'default'")


def _noisy(emb: Tensor, sigma: float) -> Tensor:
    """Add sigma * N(0, 1) to unit embeddings and re-normalise."""
    if sigma <= 0:
        return emb
    return F.normalize(emb + sigma * torch.randn_like(emb), dim=1)


def _inline_expert(cfg: dict[str, Any]) -> str:
    """Train an expert into RUN/expert (resumes there) and return its checkpoint path."""
    from train.expert import ExpertTask

    sub = dict(cfg)
    sub.update(
        out=str(Path(cfg["out"]) / "expert"),
        steps=int(cfg["expert_steps"]),
        lr=float(cfg["expert_lr"]),
        render_faces=int(cfg.get("expert_render_faces", 0)),
        fresh=False,
        save_every=max(1, int(cfg["expert_steps"])),
    )
    return str(run_training(ExpertTask, sub))


class DistillTask(Task):
    """GAN + expert-to-student distillation."""

    kind = "distill"

    def __init__(self, cfg: dict[str, Any], ctx: Context) -> None:
        self.cfg, self.device = cfg, ctx.device
        dev = ctx.device
        # runs saved before --train-encoder existed trained the encoder without --encoder
        self.train_encoder = bool(cfg.setdefault("train_encoder", not cfg["encoder"]))
        if not cfg["encoder"] and not self.train_encoder:
            raise CmpEdgeError(
                "--encoder is required (spec 3b: a pretrained, frozen voice encoder); "
                "pass --train-encoder to train one with the generator instead"
            )
        data = open_train_data(cfg, require_images=True)
        batch = int(cfg["batch_size"])
        self.voices = TripletSampler(
            data, batch, int(cfg["seed"]), (cfg["crop_min"], cfg["crop_max"])
        )
        self.faces = ImageSampler(data, batch, int(cfg["seed"]), GENERATED_SIZE)
        if not cfg["expert"]:
            cfg["expert"] = _inline_expert(cfg)
        expert, expert_ckpt = load_mobilenet(cfg["expert"], "expert")
        cfg["mobilenet_width"] = float(expert_ckpt["config"]["mobilenet_width"])
        cfg["mobilenet_last_channel"] = int(expert_ckpt["config"]["mobilenet_last_channel"])
        self.param_mean = list(expert_ckpt["param_mean"])
        self.param_std = list(expert_ckpt["param_std"])
        self.face_model_id = str(expert_ckpt["face_model_id"])
        corpus_id = corpus_face_model_id(cfg["data"])
        if corpus_id is not None and corpus_id != self.face_model_id:
            raise CmpEdgeError(
                f"{cfg['expert']}: expert trained for face model {self.face_model_id!r}, "
                f"the corpus uses {corpus_id!r}"
            )
        self.expert = freeze(expert).to(dev)
        if cfg["encoder"]:
            encoder, width = load_encoder(cfg["encoder"])
            cfg["encoder_width"] = width
            if not self.train_encoder:
                freeze(encoder)
        else:
            encoder = VoiceEncoder(float(cfg["encoder_width"]))
        self.encoder = encoder.to(dev)
        self.generator = Generator(float(cfg["generator_width"])).to(dev)
        self.face_embed = FaceEmbed(float(cfg["face_embed_width"])).to(dev)
        self.discriminator = Discriminator().to(dev)
        self.classifier = IdentityClassifier(len(data)).to(dev)
        self.student = MobileNetV2(
            float(cfg["mobilenet_width"]), int(cfg["mobilenet_last_channel"])
        ).to(dev)
        if cfg["student_init"] == "expert":
            self.student.load_state_dict(self.expert.state_dict())
        self.joint = cfg["mode"] == "joint"
        self.networks = {
            "voice_encoder": self.encoder,
            "generator": self.generator,
            "face_embed": self.face_embed,
            "discriminator": self.discriminator,
            "classifier": self.classifier,
            "student": self.student,
            "expert": self.expert,
        }
        if cfg.setdefault("init", None):
            self._init_from(str(cfg["init"]))
        self.d_params = [
            p
            for m in (self.face_embed, self.discriminator, self.classifier)
            for p in m.parameters()
        ]
        self.g_params = list(self.generator.parameters())
        if self.joint:
            self.g_params += list(self.student.parameters())
        if self.train_encoder:
            self.g_params += list(self.encoder.parameters())
        lr = float(cfg["lr"])
        self.optimizers = {
            "discriminator": adam(self.d_params, lr),
            "generator": adam(self.g_params, lr),
        }
        self.mesh = None
        if self.joint:
            fm = load_face_model(cfg["face_model"])
            if str(fm.id) != self.face_model_id:
                raise CmpEdgeError(
                    f"--face-model {cfg['face_model']}: id {fm.id!r}, the expert uses "
                    f"{self.face_model_id!r}"
                )
            self.mesh = mesh_layer(fm, int(cfg["mesh_vertices"]), int(cfg["seed"])).to(dev)
        self.mean = torch.tensor(self.param_mean, dtype=torch.float32, device=dev)
        self.std = torch.tensor(self.param_std, dtype=torch.float32, device=dev)

    def _init_from(self, path: str) -> None:
        """Load the GAN networks and the student of another distill checkpoint."""
        ckpt = load_checkpoint(path, "distill")
        for name in ("generator", "face_embed", "discriminator", "classifier", "student"):
            try:
                self.networks[name].load_state_dict(ckpt["model"][name])
            except (KeyError, RuntimeError) as exc:
                raise CmpEdgeError(
                    f"--init {path}: its {name} does not fit this run (same widths, corpus "
                    f"and expert needed; {str(exc).splitlines()[0]})"
                ) from None

    def meshes(self, whitened102: Tensor) -> Tensor:
        """(B, 102) whitened image-network outputs -> (B, N', 3) meshes / mesh_unit."""
        assert self.mesh is not None
        se = whitened102[:, STUDENT_SHAPE_EXPR] * self.std[1:] + self.mean[1:]
        scale = self.mean[:1].expand(se.shape[0], 1)
        return self.mesh(torch.cat([scale, se], dim=1)) / float(self.cfg["mesh_unit"])

    def _embed(self, x: Tensor) -> Tensor:
        sigma = float(self.cfg["embedding_noise"])
        if self.train_encoder:
            self.encoder.train()
            return _noisy(self.encoder(x), sigma)
        with torch.no_grad():
            return _noisy(self.encoder(x), sigma)

    def train_step(self, step: int, ctx: Context) -> dict[str, float]:
        """One discriminator step and one generator/student step."""
        cfg = self.cfg
        b = self.voices.batch(step, ctx.rank, ctx.world).to(self.device)
        real = self.faces.batch(step, ctx.rank, ctx.world).to(self.device)
        n = b.anchor.shape[0]
        for m in (self.generator, self.face_embed, self.student):
            m.train()
        voices = torch.cat([b.anchor, b.positive, b.negative]) if self.joint else b.anchor
        emb = self._embed(voices)
        fake = self.generator(emb)
        fake_a = fake[:n]

        d_opt, g_opt = self.optimizers["discriminator"], self.optimizers["generator"]
        d_opt.zero_grad(set_to_none=True)
        fr, ff = self.face_embed(real.images), self.face_embed(fake_a.detach())
        d_loss = discriminator_loss(
            self.discriminator(fr), self.discriminator(ff), self.classifier(fr), real.speaker
        )
        d_loss.backward()
        ctx.average_gradients(self.d_params)
        d_opt.step()

        g_opt.zero_grad(set_to_none=True)
        ff = self.face_embed(fake_a)
        adv = generator_adversarial_loss(self.discriminator(ff), self.classifier(ff), b.speaker)
        out = {"d_loss": float(d_loss.detach()), "g_adv": float(adv.detach())}
        g_loss = adv
        if self.joint:
            s_par, s_pool, s_inter = self.student.forward_all(resize_for_expert(fake))
            with torch.no_grad():
                e_par, e_pool, e_inter = self.expert.forward_all(resize_for_expert(fake_a))
            s_mesh = self.meshes(s_par)
            mesh_mse = F.mse_loss(s_mesh[:n], self.meshes(e_par))
            direction = cfg["pkt_direction"]
            pkt = pkt_loss(e_pool, s_pool[:n], direction) + pkt_loss(
                e_inter, s_inter[:n], direction
            )
            trip = triplet_loss(
                s_mesh[:n], s_mesh[n : 2 * n], s_mesh[2 * n :], float(cfg["triplet_margin"])
            )
            g_loss = (
                adv
                + float(cfg["mesh_weight"]) * mesh_mse
                + float(cfg["pkt_weight"]) * pkt
                + float(cfg["triplet_weight"]) * trip
            )
            out.update(
                mesh_mse=float(mesh_mse.detach()),
                pkt=float(pkt.detach()),
                triplet=float(trip.detach()),
            )
        g_loss.backward()
        ctx.average_gradients(self.g_params)
        g_opt.step()
        out["g_loss"] = float(g_loss.detach())
        return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    return main_for(
        __doc__.splitlines()[0],
        DEFAULTS,
        add_arguments,
        DistillTask,
        argv,
        prog="python -m train.distill",
    )


if __name__ == "__main__":
    raise SystemExit(main())
