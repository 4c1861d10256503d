"""The loop shared by every trainer: options, seeding, checkpoints, logs, data parallelism.

A trainer module builds a :class:`Task` (networks, optimisers, one ``train_step``) and
calls :func:`main_for`. This module provides:

- the common command line (``--data --out --steps --seed --device`` ...) with an
  optional JSON ``--config`` file whose keys are the long option names;
- deterministic seeding: the batch and every random draw of step ``k`` on rank ``r``
  depend only on (seed, k, r), so a resumed run gives the same next-step losses;
- checkpoints ``RUN/last.pt`` (format in docs/architecture.md) written atomically,
  ``RUN/config`` (JSON), ``RUN/log.csv`` and TensorBoard event files in ``RUN/tb``;
- data parallelism with torch.distributed under torchrun (gloo on CPU, NCCL on CUDA):
  every rank draws its own share of the batch and gradients are averaged with one
  all-reduce per optimiser step (the semantics of DistributedDataParallel, done
  explicitly because the GAN step uses networks several times per backward pass).
  BatchNorm statistics stay per rank; rank 0 saves the checkpoints.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from cmp_edge._safe.atomic import atomic_write
from cmp_edge.errors import CmpEdgeError
from train.tblog import EventWriter

__all__ = [
    "Context",
    "Task",
    "base_parser",
    "load_checkpoint",
    "main_for",
    "parse_config",
    "run_training",
    "save_checkpoint",
    "seed_everything",
]


@dataclass
class Context:
    """Where this process trains: device, rank and world size."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def distributed(self) -> bool:
        """True when more than one process trains together."""
        return self.world > 1

    def average_gradients(self, params: Iterable[nn.Parameter]) -> None:
        """All-reduce and average the gradients of ``params`` over the ranks (no-op alone)."""
        if not self.distributed:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def broadcast_parameters(self, modules: Iterable[nn.Module]) -> None:
        """Make every rank start from rank 0's weights and buffers."""
        if not self.distributed:
            return
        for m in modules:
            for t in list(m.parameters()) + list(m.buffers()):
                dist.broadcast(t.data, src=0)


class Task:
    """A trainer: networks (saved), optimisers (saved) and one training step.

    Subclasses set ``kind``, ``networks``, ``optimizers``, ``param_mean``,
    ``param_std``, ``face_model_id`` and implement :meth:`train_step`.
    """

    kind: str = ""
    networks: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    param_mean: Sequence[float] = ()
    param_std: Sequence[float] = ()
    face_model_id: str = ""

    def train_step(self, step: int, ctx: Context) -> dict[str, float]:
        """Run optimisation step ``step`` (0-based) and return the losses to log."""
        raise NotImplementedError


def seed_everything(seed: int, step: int = 0, rank: int = 0, stream: int = 0) -> None:
    """Seed torch (CPU and CUDA) from (seed, step, rank, stream); all non-negative."""
    s = int(np.random.SeedSequence([seed, step, rank, stream]).generate_state(1)[0])
    torch.manual_seed(s)


def _shows_default(action: argparse.Action) -> bool:
    default = action.default
    return not (default is None or default is False or default is argparse.SUPPRESS)


class DefaultsHelp(argparse.HelpFormatter):
    """--help lists every option's default, also for options without a help text."""

    def _format_action(self, action: argparse.Action) -> str:
        if not action.help and _shows_default(action):
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if _shows_default(action) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def base_parser(
    description: str, defaults: dict[str, Any], prog: str | None = None
) -> argparse.ArgumentParser:
    """The options every trainer has; ``defaults`` are the trainer's own defaults.

    ``prog`` is how the trainer is run (e.g. "python -m train.supervised"); --help
    shows every option's default.
    """
    p = argparse.ArgumentParser(prog=prog, description=description, formatter_class=DefaultsHelp)
    p.add_argument("--config", type=Path, help="JSON file of option values (long names)")
    p.add_argument("--data", type=Path, required=True, help="data folder (Voxceleb-3D layout)")
    p.add_argument("--out", type=Path, required=True, help="run folder (last.pt, config, logs)")
    p.add_argument("--steps", type=int, default=defaults.get("steps", 1000), help="total steps")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--batch-size", type=int, default=defaults.get("batch_size", 64))
    p.add_argument("--lr", type=float, default=defaults.get("lr", 2e-4))
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads per process")
    p.add_argument("--log-every", type=int, default=10, help="CSV/TensorBoard every N steps")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint every N steps")
    p.add_argument("--fresh", action="store_true", help="ignore an existing RUN/last.pt")
    p.add_argument(
        "--features",
        choices=("auto", "mfcc", "wav"),
        default="auto",
        help="voice source: preprocessed_MFCC .npy, or wav/ (features computed and cached)",
    )
    p.add_argument("--audio", type=Path, help="raw audio root for --features wav (DATA/wav)")
    p.add_argument("--scale", type=float, default=1.0, help="scale target (1.0: synthetic mm)")
    p.add_argument("--scale-std", type=float, default=0.01, help="whitening std of the scale")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto")
    return p


def parse_config(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> dict[str, Any]:
    """Parse ``argv``; values from ``--config FILE`` replace defaults, flags win over both."""
    first, _ = parser.parse_known_args(argv)
    if first.config is not None:
        try:
            values = json.loads(Path(first.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            parser.error(f"--config {first.config}: {exc}")
        known = {a.dest for a in parser._actions}
        unknown = sorted({k.replace("-", "_") for k in values} - known)
        if unknown:
            parser.error(f"--config {first.config}: unknown options {', '.join(unknown)}")
        parser.set_defaults(**{k.replace("-", "_"): v for k, v in values.items()})
    args = parser.parse_args(argv)
    cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    cfg.pop("config")
    return cfg


def save_checkpoint(path: Path, task: Task, step: int, config: dict[str, Any]) -> None:
    """Write the checkpoint dict (docs/architecture.md) atomically."""
    obj = {
        "kind": task.kind,
        "model": {k: m.state_dict() for k, m in task.networks.items()},
        "optimizer": {k: o.state_dict() for k, o in task.optimizers.items()},
        "step": step,
        "config": config,
        "face_model_id": task.face_model_id,
        "param_mean": [float(v) for v in task.param_mean],
        "param_std": [float(v) for v in task.param_std],
        "feature_preset": "cmp",
    }
    with atomic_write(path) as handle:
        torch.save(obj, handle)


def load_checkpoint(path: str | os.PathLike[str], kind: str | None = None) -> dict[str, Any]:
    """Read a training checkpoint (on CPU) and check its ``kind``.

    Raises:
        CmpEdgeError: missing or unreadable file, not a checkpoint, wrong kind.
    """
    p = Path(path)
    if not p.is_file():
        raise CmpEdgeError(f"{p}: checkpoint not found")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise CmpEdgeError(f"{p}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(obj, dict) or "kind" not in obj or "model" not in obj:
        raise CmpEdgeError(f"{p}: not a cmp-edge training checkpoint (no kind/model)")
    if kind is not None and obj["kind"] != kind:
        raise CmpEdgeError(f"{p}: a {obj['kind']!r} checkpoint, expected {kind!r}")
    return obj


def _setup(cfg: dict[str, Any]) -> Context:
    torch.set_num_threads(max(1, int(cfg["threads"])))
    if cfg["device"] == "cuda" and not torch.cuda.is_available():
        raise CmpEdgeError("--device cuda: no CUDA device is available to torch")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device("cpu")
    if cfg["device"] == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))
    return Context(device, rank, world)


class _Progress:
    def __init__(self, start: int, total: int, enabled: bool) -> None:
        self.bar: Any = None
        self.total = total
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                self.bar = None
            else:
                self.bar = tqdm(total=total, initial=start, dynamic_ncols=True, unit="step")
        self.enabled = enabled

    def update(self, step: int, losses: dict[str, float]) -> None:
        text = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        elif self.enabled and (step % 50 == 0 or step == self.total):
            print(f"step {step}/{self.total} {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_training(
    task_factory: Callable[[dict[str, Any], Context], Task], cfg: dict[str, Any]
) -> Path:
    """Build the task, resume from RUN/last.pt when present, train to ``steps``.

    Returns the checkpoint path. On resume, the saved config is used (only ``steps``,
    ``device``, ``threads``, ``progress``, ``log_every``, ``save_every`` and ``out`` change).
    """
    ctx = _setup(cfg)
    out = Path(cfg["out"])
    ckpt_path = out / "last.pt"
    resume = None
    if ckpt_path.is_file() and not cfg["fresh"]:
        resume = load_checkpoint(ckpt_path)
        saved = dict(resume["config"])
        for key in ("steps", "device", "threads", "progress", "log_every", "save_every", "out"):
            saved[key] = cfg[key]
        saved["fresh"] = False
        cfg = saved
    seed_everything(int(cfg["seed"]), 0, 0, stream=1)  # initial weights
    task = task_factory(cfg, ctx)
    start = 0
    if resume is not None:
        if resume["kind"] != task.kind:
            raise CmpEdgeError(f"{ckpt_path}: a {resume['kind']!r} run, not {task.kind!r}")
        for name, net in task.networks.items():
            net.load_state_dict(resume["model"][name])
        for name, opt in task.optimizers.items():
            opt.load_state_dict(resume["optimizer"][name])
        start = int(resume["step"])
    ctx.broadcast_parameters(task.networks.values())
    main = ctx.rank == 0
    writer: EventWriter | None = None
    log_file = None
    if main:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_write(out / "config") as handle:
            handle.write(json.dumps(cfg, indent=2, sort_keys=True).encode())
        writer = EventWriter(out / "tb")
        # A fresh run starts a new log; a resumed run appends to it.
        log_file = (out / "log.csv").open("a" if resume is not None else "w", newline="")
    show = cfg["progress"] == "on" or (cfg["progress"] == "auto" and sys.stderr.isatty())
    bar = _Progress(start, int(cfg["steps"]), main and show)
    csv_writer = None
    t0 = time.time()
    try:
        for step in range(start, int(cfg["steps"])):
            seed_everything(int(cfg["seed"]), step, ctx.rank)
            losses = task.train_step(step, ctx)
            done = step + 1
            bar.update(done, losses)
            if main and (done % int(cfg["log_every"]) == 0 or done == int(cfg["steps"])):
                assert log_file is not None and writer is not None
                row = {"step": done, "seconds": round(time.time() - t0, 3), **losses}
                if csv_writer is None:
                    csv_writer = csv.DictWriter(log_file, fieldnames=list(row))
                    if log_file.tell() == 0:
                        csv_writer.writeheader()
                csv_writer.writerow(row)
                log_file.flush()
                writer.scalars(done, {f"{task.kind}/{k}": v for k, v in losses.items()})
            if main and (done % int(cfg["save_every"]) == 0 or done == int(cfg["steps"])):
                save_checkpoint(ckpt_path, task, done, cfg)
        if main and start >= int(cfg["steps"]) and not ckpt_path.is_file():
            save_checkpoint(ckpt_path, task, start, cfg)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
        if log_file is not None:
            log_file.close()
    if ctx.distributed:
        dist.barrier()
    return ckpt_path


def main_for(
    description: str,
    defaults: dict[str, Any],
    add_arguments: Callable[[argparse.ArgumentParser], None],
    task_factory: Callable[[dict[str, Any], Context], Task],
    argv: Sequence[str] | None = None,
    prog: str | None = None,
) -> int:
    """Command-line entry point of a trainer: parse, train, print one-line errors.

    ``prog``: how the trainer is run, for --help (e.g. "python -m train.supervised").
    """
    parser = base_parser(description, defaults, prog)
    add_arguments(parser)
    cfg = parse_config(parser, argv)
    try:
        path = run_training(task_factory, cfg)
    except CmpEdgeError as exc:
        name = (prog or "").removeprefix("python -m ") or "train"
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"wrote {path}")
    return 0
