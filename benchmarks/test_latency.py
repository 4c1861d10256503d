"""End-to-end latency: cmp-edge vs the published CMP pipeline re-created in NumPy/PyTorch.

Run: ``python -m pytest benchmarks/test_latency.py --benchmark-only -s``.

Input, network and face model: :mod:`benchmarks.fullwidth` (10 s of real speech,
the published layout at full width with fixed random weights, a BFM-sized face
model). Pipelines, each at 1 and 2 threads, run interleaved round by round (the
machine may be shared; the load average is printed with the table):

- ``cmp-edge``: ``Reconstructor.predict_file`` (decode, native VAD loop, C++ log-mel,
  ONNX Runtime, fused C++ reconstruction), binary PLY.
- ``cmp-edge python-vad``: the same with the VAD loop in Python (``CMP_EDGE_VAD_NATIVE=0``).
- ``published``: soundfile, the published VAD loop (webrtcvad), per-frame NumPy
  features, PyTorch eager encoder + decoder, NumPy reconstruction, text OBJ.
- ``published+vecfeat``: the same with vectorised NumPy features.

Stages: load, vad, features, model (encoder + decoder), reconstruct, write;
``compute`` = vad + features + model + reconstruct (no file I/O); ``cpu`` = CPU time
of the process (all its threads) for load + compute, which a busy shared machine
inflates much less than wall time. Streaming: cost of ``Stream.accept_waveform`` per
100 ms chunk after 10 s and after 10 min. Medians are printed as a table at the
end; nothing here asserts on time.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from benchmarks.fullwidth import N_VERTICES, ROUNDS, load_average, published_run

RESULTS: dict[tuple[str, int], dict[str, float]] = {}
STREAM: dict[str, float] = {}
LOAD: list[str] = []
STAGES = ("load", "vad", "features", "model", "reconstruct", "write")


@pytest.fixture(scope="module")
def setup(fullwidth: dict[str, Any]) -> dict[str, Any]:
    return fullwidth


def _medians(samples: list[dict[str, float]]) -> dict[str, float]:
    out = {k: statistics.median(s[k] for s in samples) for k in STAGES}
    out["compute"] = statistics.median(
        sum(s[k] for k in ("vad", "features", "model", "reconstruct")) for s in samples
    )
    out["total"] = statistics.median(sum(s[k] for k in STAGES) for s in samples)
    out["total_min"] = min(sum(s[k] for k in STAGES) for s in samples)
    out["cpu"] = statistics.median(s["cpu"] for s in samples)
    return out


def _cmp_edge_run(
    setup: dict[str, Any], threads: int, *, native_vad: bool = True
) -> Callable[[], dict[str, float]]:
    from cmp_edge.output.mesh import save_mesh
    from cmp_edge.runtime.reconstructor import Reconstructor

    rec = Reconstructor(setup["onnx"], face_model=setup["fm"], threads=threads)
    out_path = setup["work"] / f"cmp_edge_{threads}_{int(native_vad)}.ply"

    def run() -> dict[str, float]:
        old = os.environ.get("CMP_EDGE_VAD_NATIVE")
        if not native_vad:
            os.environ["CMP_EDGE_VAD_NATIVE"] = "0"
        c0 = time.process_time()
        try:
            face = rec.predict_file(setup["wav"])
        finally:
            if not native_vad:
                if old is None:
                    del os.environ["CMP_EDGE_VAD_NATIVE"]
                else:
                    os.environ["CMP_EDGE_VAD_NATIVE"] = old
        cpu = (time.process_time() - c0) * 1e3
        t0 = time.perf_counter()
        save_mesh(out_path, face.vertices, face.triangles)
        t = {k: face.timings[k] for k in STAGES if k != "write"}
        t["cpu"] = cpu
        t["write"] = (time.perf_counter() - t0) * 1e3
        return t

    return run


PIPELINES = [
    "cmp-edge", "cmp-edge python-vad", "published", "published+vecfeat",
]  # fmt: skip


@pytest.mark.parametrize("threads", [1, 2])
def test_latency(benchmark, setup, threads: int) -> None:  # noqa: ANN001
    runs: dict[str, Callable[[], dict[str, float]]] = {
        "cmp-edge": _cmp_edge_run(setup, threads),
        "cmp-edge python-vad": _cmp_edge_run(setup, threads, native_vad=False),
        "published": published_run(setup, threads, vectorised=False),
        "published+vecfeat": published_run(setup, threads, vectorised=True),
    }
    for run in runs.values():
        run()  # warm-up (first-call allocations, thread pools)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    LOAD.append(f"{threads} thread(s): before {load_average()}")
    for _ in range(ROUNDS):  # interleaved: every pipeline sees the same load
        for name, run in runs.items():
            samples[name].append(run())
    LOAD.append(f"{threads} thread(s): after {load_average()}")
    for name in runs:
        RESULTS[(name, threads)] = _medians(samples[name])
    benchmark.extra_info.update({k: round(v, 3) for k, v in RESULTS[("cmp-edge", threads)].items()})
    benchmark.pedantic(runs["cmp-edge"], rounds=3, iterations=1)
    assert all(np.isfinite(v) for st in RESULTS.values() for v in st.values())


def _feed(stream: Any, audio: np.ndarray, chunk: int) -> list[float]:
    times = []
    for start in range(0, audio.shape[0], chunk):
        t0 = time.perf_counter()
        stream.accept_waveform(16000, audio[start : start + chunk])
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def test_streaming_chunk_cost(benchmark, setup) -> None:  # noqa: ANN001
    from cmp_edge.audio import load
    from cmp_edge.runtime.reconstructor import Reconstructor

    rec = Reconstructor(setup["onnx"], face_model=setup["fm"], threads=2)
    x, _ = load(setup["wav"])
    ten_min = np.tile(x, 60)  # 10 minutes
    chunk = 1600  # 100 ms
    stream = rec.create_stream()
    times = _feed(stream, ten_min, chunk)
    per_10s = times[:100]
    last = times[-100:]
    STREAM["chunk_ms_first_10s"] = statistics.median(per_10s[10:])
    STREAM["chunk_ms_at_10min"] = statistics.median(last)
    STREAM["chunk_ms_p95_at_10min"] = float(np.percentile(last, 95))
    t0 = time.perf_counter()
    stream.current()
    STREAM["current_refresh_ms_at_10min"] = (time.perf_counter() - t0) * 1e3
    stream.input_finished()
    t0 = time.perf_counter()
    stream.result()
    STREAM["result_ms_at_10min"] = (time.perf_counter() - t0) * 1e3
    benchmark.extra_info.update({k: round(v, 4) for k, v in STREAM.items()})
    s2 = rec.create_stream()
    pos = {"i": 0}

    def one_chunk() -> None:
        k = pos["i"] % 100
        s2.accept_waveform(16000, x[k * chunk : (k + 1) * chunk])
        pos["i"] += 1

    benchmark.pedantic(one_chunk, rounds=200, iterations=1)
    assert stream.result().vertices.shape == (N_VERTICES, 3)


def test_report(benchmark, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    """Print the comparison table (medians, ms) and the speed-up ratios."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # runs under --benchmark-only
    if not RESULTS:
        pytest.skip("run with the latency benchmarks")
    cols = [*STAGES, "compute", "total", "total_min", "cpu"]
    lines = ["| pipeline | threads | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for (name, threads), st in sorted(RESULTS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(f"| {name} | {threads} | " + " | ".join(f"{st[c]:.2f}" for c in cols) + " |")
    for threads in (1, 2):
        ours = RESULTS.get(("cmp-edge", threads))
        for other in PIPELINES[1:]:
            base = RESULTS.get((other, threads))
            if ours and base:
                lines.append(
                    f"{threads} thread(s): {other} / cmp-edge = "
                    f"{base['compute'] / ours['compute']:.2f}x (compute), "
                    f"{base['total'] / ours['total']:.2f}x (total), "
                    f"{base['cpu'] / ours['cpu']:.2f}x (CPU time of load + compute)"
                )
    lines += LOAD
    for k, v in STREAM.items():
        lines.append(f"stream {k}: {v:.3f} ms")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
