"""Trainer behaviour: a step reduces the loss, resume is exact, data-parallel gradients."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from train import engine, supervised
from train.engine import Context
from train.supervised import SupervisedTask

REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "--batch-size", "8", "--encoder-width", "0.25", "--crop-min", "40",
    "--crop-max", "80", "--log-every", "1", "--threads", "1", "--progress", "off",
]  # fmt: skip


def _cfg(corpus: Path, out: Path, steps: int = 3, extra: list[str] | None = None) -> dict[str, Any]:
    argv = ["--data", str(corpus), "--out", str(out), "--steps", str(steps), "--seed", "7"]
    parser = engine.base_parser("t", supervised.DEFAULTS)
    supervised.add_arguments(parser)
    return engine.parse_config(parser, argv + SMALL + (extra or []))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_one_step_reduces_the_loss_on_a_fixed_batch(corpus: Path, tmp_path: Path) -> None:
    cfg = _cfg(corpus, tmp_path / "r", extra=["--dropout", "0", "--lr", "1e-3"])
    ctx = Context(torch.device("cpu"))
    engine.seed_everything(7)
    task = SupervisedTask(cfg, ctx)
    task.encoder.eval()  # fixed BatchNorm statistics: the same function before and after

    def loss() -> torch.Tensor:
        task.encoder.train(False)
        b = task.sampler.batch(0)
        pred = task.decoder(task.encoder(b.anchor))
        return torch.nn.functional.mse_loss(pred, (b.target - task.mean) / task.std)

    before = float(loss().detach())
    opt = task.optimizers["adam"]
    opt.zero_grad()
    loss().backward()
    opt.step()
    assert float(loss().detach()) < before


def test_cli_writes_checkpoint_config_logs(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["--data", str(corpus), "--out", str(out), "--steps", "2", "--seed", "1", *SMALL]
    assert supervised.main(argv) == 0
    ck = engine.load_checkpoint(out / "last.pt", "supervised")
    assert ck["step"] == 2 and ck["feature_preset"] == "cmp"
    assert ck["face_model_id"] == "test-face-model"
    assert len(ck["param_mean"]) == 51 and len(ck["param_std"]) == 51
    assert set(ck["model"]) == {"voice_encoder", "decoder"}
    assert "adam" in ck["optimizer"] and ck["config"]["seed"] == 1
    assert (out / "config").is_file()
    rows = _rows(out / "log.csv")
    assert [r["step"] for r in rows] == ["1", "2"]
    from train.tblog import read_scalars

    events = list((out / "tb").glob("events.out.tfevents.*"))
    scalars = read_scalars(events[0])
    assert {t for _, t, _ in scalars} == {"supervised/loss", "supervised/l2", "supervised/triplet"}
    assert float(rows[1]["loss"]) == pytest.approx(
        [v for s, t, v in scalars if s == 2 and t == "supervised/loss"][0], rel=1e-6
    )


def test_bad_data_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--steps", "1"]
    assert supervised.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("train.supervised: error: ") and "data folder not found" in err
    assert "\n" not in err


def test_resume_gives_identical_next_step_losses(corpus: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    engine.run_training(SupervisedTask, _cfg(corpus, full, steps=3))
    part = tmp_path / "part"
    engine.run_training(SupervisedTask, _cfg(corpus, part, steps=2))
    assert engine.load_checkpoint(part / "last.pt")["step"] == 2
    engine.run_training(SupervisedTask, _cfg(corpus, part, steps=3))
    a, b = _rows(full / "log.csv"), _rows(part / "log.csv")
    assert [r["step"] for r in b] == ["1", "2", "3"]
    for key in ("loss", "l2", "triplet"):
        assert a[2][key] == b[2][key]
        assert a[0][key] == b[0][key]


def test_config_file_and_flags(corpus: Path, tmp_path: Path) -> None:
    conf = tmp_path / "c.json"
    conf.write_text('{"triplet-weight": 0.25, "dropout": 0.1}')
    cfg = _cfg(corpus, tmp_path / "o", extra=["--config", str(conf), "--dropout", "0.3"])
    assert cfg["triplet_weight"] == 0.25 and cfg["dropout"] == 0.3
    conf.write_text('{"no_such_option": 1}')
    with pytest.raises(SystemExit):
        _cfg(corpus, tmp_path / "o", extra=["--config", str(conf)])


def _rank_grads(rank: int, world: int, cfg: dict[str, Any], init: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        ctx = Context(torch.device("cpu"), rank, world)
        engine.seed_everything(7, 0, 0, stream=1)
        task = SupervisedTask(cfg, ctx)
        engine.seed_everything(7, 0, rank)
        task.losses(0, ctx)["loss"].backward()
        ctx.average_gradients(task.params)
        grads = {n: p.grad.clone() for n, p in task.decoder.named_parameters()}
        grads |= {f"enc.{n}": p.grad.clone() for n, p in task.encoder.named_parameters()}
        torch.save(grads, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_average_the_single_process_gradients(
    corpus: Path, tmp_path: Path
) -> None:
    cfg = _cfg(corpus, tmp_path / "o")
    out = str(tmp_path / "grads")
    init = f"file://{tmp_path / 'store'}"
    mp.spawn(_rank_grads, args=(2, cfg, init, out), nprocs=2, join=True)
    got = [torch.load(f"{out}.{r}") for r in range(2)]
    # Single process: the same two half-batches, gradients averaged by hand.
    engine.seed_everything(7, 0, 0, stream=1)
    task = SupervisedTask(cfg, Context(torch.device("cpu")))
    ref: dict[str, torch.Tensor] = {}
    for rank in range(2):
        task.decoder.zero_grad()
        task.encoder.zero_grad()
        engine.seed_everything(7, 0, rank)
        task.losses(0, Context(torch.device("cpu"), rank, 2))["loss"].backward()
        grads = {n: p.grad.clone() for n, p in task.decoder.named_parameters()}
        grads |= {f"enc.{n}": p.grad.clone() for n, p in task.encoder.named_parameters()}
        for k, v in grads.items():
            ref[k] = ref.get(k, 0) + v / 2
    assert set(ref) == set(got[0])
    for k in ref:
        torch.testing.assert_close(got[0][k], ref[k], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(got[1][k], got[0][k], rtol=0, atol=0)


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--standalone", "-m", "train.supervised",
        "--data", str(corpus), "--out", str(out), "--steps", "2", "--seed", "3", *SMALL,
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ck = engine.load_checkpoint(out / "last.pt", "supervised")
    assert ck["step"] == 2
    assert len(_rows(out / "log.csv")) == 2
