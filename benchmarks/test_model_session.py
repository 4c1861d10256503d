"""The model stage: ONNX Runtime session settings, PyTorch, and the fp16/int8 variants.

Run: ``python -m pytest benchmarks/test_model_session.py --benchmark-only -s``.

One input: the normalised, padded features of the 10 s utterance of
:mod:`benchmarks.fullwidth` (1, 64, 1000); the full-width published network.
Candidates, timed interleaved round by round (median and min over
``CMP_EDGE_BENCH_ROUNDS`` x 2 rounds, ms per call), at 1 and 2 threads:

- ``cmp-edge session``: :func:`cmp_edge.model.session.open_session` as the runtime
  uses it (all graph optimisations, no spinning, arena on).
- ``spinning``, ``basic/extended optimisation``, ``no arena``: one setting changed.
- ``ORT defaults``: ``SessionOptions()`` untouched (all cores, spinning).
- ``IO binding``: the cmp-edge session with bound input and a preallocated output.
- ``fp16 weights`` / ``int8 dynamic``: the variants ``python -m export --fp16/--int8``
  writes, with their largest whitened-parameter and vertex (face-model units,
  here mm-like) differences to float32 on this input.
- ``PyTorch eager``: the same network in PyTorch (what the published code runs).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.fullwidth import ROUNDS, load_average

TIMES: dict[tuple[str, int], list[float]] = {}
DIFFS: dict[str, dict[str, float]] = {}
LOAD: list[str] = []


@pytest.fixture(scope="module")
def variants(fullwidth: dict[str, Any]) -> dict[str, Path]:
    from export.core import ExportReport, quantize_variant

    report = ExportReport(path=fullwidth["onnx"], max_abs_diff=0.0)
    out = {}
    for name in ("fp16", "int8"):
        out[name] = Path(
            quantize_variant(fullwidth["net"], fullwidth["onnx"], name, report)["path"]
        )
    return out


def _features(fullwidth: dict[str, Any]) -> np.ndarray:
    from cmp_edge.audio import load
    from cmp_edge.features import cmp_features

    x, sr = load(fullwidth["wav"])
    return np.ascontiguousarray(cmp_features(x, sr).T[None])  # (1, 64, 1000)


def _session(path: Path, threads: int, **changes: Any) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if changes.get("spin") else "0"
    )
    opts.graph_optimization_level = changes.get("level", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    opts.enable_cpu_mem_arena = changes.get("arena", True)
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("threads", [1, 2])
def test_model_session(benchmark, fullwidth, variants, threads: int) -> None:  # noqa: ANN001
    import onnxruntime as ort
    import torch

    from cmp_edge.model.session import CPU, open_session
    from cmp_edge.runtime.reconstructor import Reconstructor

    x = _features(fullwidth)
    onnx = fullwidth["onnx"]
    ours = open_session(onnx, [CPU], threads)
    level = ort.GraphOptimizationLevel
    sessions = {
        "cmp-edge session": ours,
        "spinning": _session(onnx, threads, spin=True),
        "basic optimisation": _session(onnx, threads, level=level.ORT_ENABLE_BASIC),
        "extended optimisation": _session(onnx, threads, level=level.ORT_ENABLE_EXTENDED),
        "no arena": _session(onnx, threads, arena=False),
        "ORT defaults": ort.InferenceSession(str(onnx), providers=[CPU]),
        "fp16 weights": open_session(variants["fp16"], [CPU], threads),
        "int8 dynamic": open_session(variants["int8"], [CPU], threads),
    }
    calls: dict[str, Callable[[], np.ndarray]] = {
        name: (lambda s=s: s.run(["params"], {"features": x})[0]) for name, s in sessions.items()
    }
    binding = ours.io_binding()
    out = np.empty((1, 51), np.float32)
    binding.bind_cpu_input("features", x)
    binding.bind_output("params", "cpu", 0, np.float32, [1, 51], out.ctypes.data)

    def bound() -> np.ndarray:
        ours.run_with_iobinding(binding)
        return out

    calls["IO binding"] = bound
    net = fullwidth["net"]
    torch.set_num_threads(threads)

    def eager() -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    calls["PyTorch eager"] = eager
    reference = calls["cmp-edge session"]()
    for fn in calls.values():
        fn()  # warm-up
    LOAD.append(f"{threads} thread(s): before {load_average()}")
    for _ in range(2 * ROUNDS):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            TIMES.setdefault((name, threads), []).append((time.perf_counter() - t0) * 1e3)
    LOAD.append(f"{threads} thread(s): after {load_average()}")
    if threads == 1:
        rec = Reconstructor(onnx, face_model=fullwidth["fm"], threads=1)
        base_verts = rec.reconstruct(rec.unwhiten(reference[0]))
        for name in ("fp16 weights", "int8 dynamic", "PyTorch eager", "IO binding"):
            got = np.asarray(calls[name](), np.float32)
            verts = rec.reconstruct(rec.unwhiten(got[0]))
            DIFFS[name] = {
                "params_max": float(np.abs(got - reference).max()),
                "vertices_max": float(np.abs(verts - base_verts).max()),
            }
        assert DIFFS["IO binding"]["params_max"] == 0.0
        assert DIFFS["PyTorch eager"]["params_max"] < 1e-4
    benchmark.pedantic(calls["cmp-edge session"], rounds=3, iterations=1)


def test_model_report(benchmark, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    """Print the model-stage table (ms per call) and the variants' differences."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # runs under --benchmark-only
    if not TIMES:
        pytest.skip("run with the model-session benchmark")
    names = list(dict.fromkeys(name for name, _t in TIMES))
    lines = ["| model stage | 1 thread median (min) | 2 threads median (min) |", "|---|---|---|"]
    for name in names:
        cells = []
        for threads in (1, 2):
            v = TIMES.get((name, threads))
            cells.append(f"{statistics.median(v):.2f} ({min(v):.2f})" if v else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, d in DIFFS.items():
        lines.append(
            f"{name}: whitened parameters max |diff| {d['params_max']:.2e}, "
            f"vertices max |diff| {d['vertices_max']:.3g}"
        )
    lines += LOAD
    with capsys.disabled():
        print("\n" + "\n".join(lines))
