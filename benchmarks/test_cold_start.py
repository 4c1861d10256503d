"""Cold start: the first prediction in a fresh process, and the CLI's whole-process time.

Run: ``python -m pytest benchmarks/test_cold_start.py --benchmark-only -s``.

Every number comes from a new Python process (``python -c`` / ``python -m
cmp_edge``), repeated ``CMP_EDGE_BENCH_COLD`` times (default 5), medians with
(min-max). Same inputs as :mod:`benchmarks.test_latency` (full-width network,
BFM-sized face model, 10 s of speech):

- ``cmp-edge``: import, ``Reconstructor(...)`` (which prepares every stage), the
  first ``predict_file`` and the median of the next five in the same process.
- ``published``: import, build the network and load its weights, the first call of
  the re-created published pipeline and the median of the next five.
- ``cmp-edge infer`` (CLI): wall time of the whole ``python -m cmp_edge infer``
  process writing a PLY, and ``published`` likewise as a whole process (one call).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.fullwidth import load_average, summary

REPEATS = int(os.environ.get("CMP_EDGE_BENCH_COLD", "5"))
ROOT = Path(__file__).resolve().parents[1]
COLD: dict[tuple[str, int], dict[str, list[float]]] = {}
LOAD: list[str] = []

_CMP_EDGE = """
import json, sys, time
t0 = time.perf_counter()
from cmp_edge import Reconstructor
t1 = time.perf_counter()
rec = Reconstructor({onnx!r}, face_model={fm!r}, threads={threads})
t2 = time.perf_counter()
face = rec.predict_file({wav!r})
t3 = time.perf_counter()
warm = []
for _ in range(5):
    s = time.perf_counter(); rec.predict_file({wav!r}); warm.append((time.perf_counter() - s) * 1e3)
warm.sort()
print(json.dumps({{"import": (t1 - t0) * 1e3, "construct": (t2 - t1) * 1e3,
                  "first": (t3 - t2) * 1e3, "warm": warm[2]}}))
"""

_PUBLISHED = """
import json, time
from pathlib import Path
t0 = time.perf_counter()
import numpy, soundfile, torch, webrtcvad
from benchmarks.fullwidth import load_setup, published_run
t1 = time.perf_counter()
setup = load_setup(Path({work!r}))
run = published_run(setup, {threads}, vectorised=False)
t2 = time.perf_counter()
run()
t3 = time.perf_counter()
warm = []
for _ in range({more}):
    s = time.perf_counter(); run(); warm.append((time.perf_counter() - s) * 1e3)
warm.sort()
print(json.dumps({{"import": (t1 - t0) * 1e3, "construct": (t2 - t1) * 1e3,
                  "first": (t3 - t2) * 1e3, "warm": warm[len(warm) // 2] if warm else 0.0}}))
"""


def _python(code: str) -> tuple[dict[str, float], float]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    wall = (time.perf_counter() - t0) * 1e3
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def _record(key: tuple[str, int], values: dict[str, float]) -> None:
    table = COLD.setdefault(key, {})
    for k, v in values.items():
        table.setdefault(k, []).append(v)


@pytest.mark.parametrize("threads", [1, 2])
def test_cold_start(benchmark, fullwidth: dict[str, Any], threads: int) -> None:  # noqa: ANN001
    work = fullwidth["work"]
    ours = _CMP_EDGE.format(
        onnx=str(fullwidth["onnx"]), fm=str(fullwidth["fm_path"]), wav=str(fullwidth["wav"]),
        threads=threads,
    )  # fmt: skip
    cli = [
        sys.executable, "-m", "cmp_edge", "infer", str(fullwidth["wav"]), "-o",
        str(work / f"cli_{threads}.ply"), "--model", str(fullwidth["onnx"]), "--face-model",
        str(fullwidth["fm_path"]), "--threads", str(threads), "--force", "-q",
    ]  # fmt: skip
    LOAD.append(f"{threads} thread(s): before {load_average()}")
    for _ in range(REPEATS):  # interleaved
        values, wall = _python(ours)
        _record(("cmp-edge", threads), {**values, "process": wall})
        values, wall = _python(_PUBLISHED.format(work=str(work), threads=threads, more=5))
        _record(("published", threads), values)
        t0 = time.perf_counter()
        subprocess.run(cli, cwd=ROOT, check=True)
        _record(("cmp-edge infer (CLI)", threads), {"process": (time.perf_counter() - t0) * 1e3})
        _values, wall = _python(_PUBLISHED.format(work=str(work), threads=threads, more=0))
        _record(("published (one call)", threads), {"process": wall})
    LOAD.append(f"{threads} thread(s): after {load_average()}")
    first = COLD[("cmp-edge", threads)]["first"]
    benchmark.extra_info["first_ms_median"] = statistics.median(first)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert (work / f"cli_{threads}.ply").stat().st_size > 0


def test_cold_report(benchmark, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    """Print the cold-start table: median (min-max) ms over fresh processes."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # runs under --benchmark-only
    if not COLD:
        pytest.skip("run with the cold-start benchmarks")
    cols = ["import", "construct", "first", "warm", "process"]
    lines = ["| pipeline | threads | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for (name, threads), table in sorted(COLD.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cells = [summary(table[c]) if c in table else "" for c in cols]
        lines.append(f"| {name} | {threads} | " + " | ".join(cells) + " |")
    lines += LOAD
    with capsys.disabled():
        print("\n" + "\n".join(lines))
