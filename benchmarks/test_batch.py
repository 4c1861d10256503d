"""Batch throughput: files per second on all cores, cmp-edge vs the published pipeline.

Run: ``python -m pytest benchmarks/test_batch.py --benchmark-only -s``.

Inputs: the LibriSpeech excerpts of ../shared (16 kHz FLAC), cut to at most 10 s,
written as WAVs twice over (``CMP_EDGE_BENCH_BATCH_COPIES``, default 2), so about
40 files of 3-10 s. Network and face model: :mod:`benchmarks.fullwidth`. Each
pipeline writes one mesh per file:

- ``cmp-edge predict_batch``: one ``Reconstructor(threads=1)``, ``iter_batch`` with
  one worker per core, binary PLY.
- ``cmp-edge batch`` (CLI): the whole ``python -m cmp_edge batch`` process
  (``--threads 1``, one worker per core), start-up included.
- ``published threads``: the re-created published pipeline (PyTorch with one
  thread) in a thread pool with one worker per core, text OBJ.
- ``published processes``: the same in a process pool (one process per core, each
  loading the network once; start-up excluded).

Files per second are the median of ``CMP_EDGE_BENCH_BATCH_ROUNDS`` (default 3) rounds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.fullwidth import load_average

ROOT = Path(__file__).resolve().parents[1]
COPIES = int(os.environ.get("CMP_EDGE_BENCH_BATCH_COPIES", "2"))
ROUNDS = int(os.environ.get("CMP_EDGE_BENCH_BATCH_ROUNDS", "3"))
THROUGHPUT: dict[str, list[float]] = {}
LOAD: list[str] = []
_WORKER: dict[str, Any] = {}


def _files(shared_data: Path, work: Path) -> list[Path]:
    import soundfile as sf

    folder = work / "batch_in"
    folder.mkdir(exist_ok=True)
    out = []
    for src in sorted((shared_data / "speech").rglob("*.flac")):
        x, sr = sf.read(str(src), dtype="float32")
        assert sr == 16000
        for copy in range(COPIES):
            target = folder / f"{src.stem}_{copy}.wav"
            sf.write(str(target), x[: 16000 * 10], 16000, subtype="PCM_16")
            out.append(target)
    return out


def _worker_init(work: str) -> None:
    import torch

    from benchmarks.fullwidth import load_setup, published_run

    torch.set_num_threads(1)
    setup = load_setup(Path(work))
    _WORKER["run"] = published_run(setup, 1, vectorised=False)


def _worker_run(path: str) -> float:
    return float(sum(_WORKER["run"](Path(path)).values()))


def test_batch_throughput(benchmark, fullwidth: dict[str, Any], shared_data: Path) -> None:  # noqa: ANN001
    from benchmarks.fullwidth import published_run
    from cmp_edge.runtime.reconstructor import Reconstructor

    work = fullwidth["work"]
    files = _files(shared_data, work)
    cores = os.cpu_count() or 1
    rec = Reconstructor(fullwidth["onnx"], face_model=fullwidth["fm"], threads=1)
    out_dir = work / "batch_out"
    out_dir.mkdir(exist_ok=True)

    def ours() -> None:
        def save(face: Any) -> None:
            face.save(out_dir / (Path(face.source).stem + ".ply"), overwrite=True)

        for _i, _p, result in rec.iter_batch(files, cores, handle=save):
            assert not isinstance(result, Exception), result

    published = published_run(fullwidth, 1, vectorised=False)

    def theirs_threads() -> None:
        with ThreadPoolExecutor(cores) as pool:
            list(pool.map(published, files))

    cli = [
        sys.executable, "-m", "cmp_edge", "batch", str(files[0].parent), "-o",
        str(work / "cli_batch"), "--model", str(fullwidth["onnx"]), "--face-model",
        str(fullwidth["fm_path"]), "--threads", "1", "--workers", str(cores), "--force", "-q",
    ]  # fmt: skip

    def ours_cli() -> None:
        subprocess.run(cli, cwd=ROOT, check=True)

    LOAD.append(f"before {load_average()}")
    with ProcessPoolExecutor(cores, initializer=_worker_init, initargs=(str(work),)) as procs:
        list(procs.map(_worker_run, [str(files[0])] * cores))  # start-up and warm-up

        def theirs_processes() -> None:
            list(procs.map(_worker_run, [str(f) for f in files]))

        runs = {
            "cmp-edge predict_batch": ours,
            "cmp-edge batch (CLI)": ours_cli,
            "published threads": theirs_threads,
            "published processes": theirs_processes,
        }
        ours()  # warm-up
        for _ in range(ROUNDS):
            for name, run in runs.items():
                t0 = time.perf_counter()
                run()
                THROUGHPUT.setdefault(name, []).append(len(files) / (time.perf_counter() - t0))
    LOAD.append(f"after {load_average()}")
    THROUGHPUT["files"] = [float(len(files))]
    THROUGHPUT["cores"] = [float(cores)]
    benchmark.extra_info.update({k: statistics.median(v) for k, v in THROUGHPUT.items()})
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert len(list(out_dir.glob("*.ply"))) == len(files)
    assert all(np.isfinite(v) for vals in THROUGHPUT.values() for v in vals)


def test_batch_report(benchmark, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    """Print files per second (median over rounds, min-max)."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # runs under --benchmark-only
    if not THROUGHPUT:
        pytest.skip("run with the batch benchmark")
    files = int(THROUGHPUT["files"][0])
    cores = int(THROUGHPUT["cores"][0])
    lines = [f"{files} files (3-10 s of speech), {cores} cores", "| pipeline | files/s |"]
    lines.append("|---|---|")
    for name, vals in THROUGHPUT.items():
        if name not in ("files", "cores"):
            lines.append(
                f"| {name} | {statistics.median(vals):.1f} ({min(vals):.1f}-{max(vals):.1f}) |"
            )
    base = THROUGHPUT.get("published threads")
    ours = THROUGHPUT.get("cmp-edge predict_batch")
    if base and ours:
        lines.append(
            "predict_batch / published threads = "
            f"{statistics.median(ours) / statistics.median(base):.1f}x"
        )
    lines += LOAD
    with capsys.disabled():
        print("\n" + "\n".join(lines))
