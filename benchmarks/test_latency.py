"""End-to-end latency: cmp-edge vs the published CMP pipeline re-created in NumPy/PyTorch.

Run: ``python -m pytest benchmarks/test_latency.py --benchmark-only -s``.

Input: 10 s of real speech (LibriSpeech excerpt from ../shared, resampled to a
16 kHz WAV). Network: the published layout at full width (VoiceEncoder width 1
+ supervised decoder, fixed random weights); face model: 53215 vertices, 40 +
10 modes (the published BFM size). Pipelines, each at 1 and 2 threads:

- ``cmp-edge``: cmp_edge.audio.decode.load, CMP-exact VAD, C++ log-mel, ONNX Runtime,
  fused C++ reconstruction, binary PLY.
- ``published``: soundfile, the published VAD loop (webrtcvad), per-frame NumPy
  features, PyTorch eager encoder + decoder, NumPy reconstruction, text OBJ.
- ``published+vecfeat``: the same with vectorised NumPy features.

Stages: load, vad, features, model (encoder + decoder), reconstruct, write;
``compute`` = vad + features + model + reconstruct (no file I/O). Streaming:
cost of ``Stream.accept_waveform`` per 100 ms chunk after 10 s and after 10 min.
Medians are printed as a table at the end; nothing here asserts on time.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.runtime import reference as ref

SPEECH = "speech/librispeech_ogg/3436-172162-0000.ogg"
N_VERTICES = 53215
ROUNDS = int(os.environ.get("CMP_EDGE_BENCH_ROUNDS", "15"))
RESULTS: dict[tuple[str, int], dict[str, float]] = {}
STREAM: dict[str, float] = {}


@pytest.fixture(scope="module")
def setup(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import soundfile as sf
    import torch

    from cmp_edge.audio import load, resample
    from cmp_edge.facemodel import FaceModel
    from export.core import bundle_metadata, export_onnx
    from train.models import SupervisedCMP, SupervisedDecoder, VoiceEncoder

    work = tmp_path_factory.mktemp("latency")
    x, sr = load(shared_data / SPEECH)
    x16 = resample(x, sr, 16000)[: 16000 * 10]
    wav = work / "speech10s.wav"
    sf.write(str(wav), x16, 16000, subtype="PCM_16")

    torch.manual_seed(0)
    net = SupervisedCMP(VoiceEncoder(), SupervisedDecoder()).eval()
    rng = np.random.default_rng(0)
    n3 = 3 * N_VERTICES
    mean = (rng.standard_normal((N_VERTICES, 3)) * 50).astype(np.float32)
    w_shp = (rng.standard_normal((n3, 40)) * 0.5).astype(np.float32)
    w_exp = (rng.standard_normal((n3, 10)) * 0.5).astype(np.float32)
    tri = rng.integers(0, N_VERTICES, (105840, 3)).astype(np.int32)
    fm = FaceModel(mean, w_shp, w_exp, tri, id="bench-bfm-size")
    meta = bundle_metadata(
        kind="supervised",
        param_mean=np.concatenate([[1.0], np.zeros(50)]),
        param_std=np.concatenate([[0.01], np.ones(50)]),
        face_model_id=fm.id,
        face_model_dims={"vertices": N_VERTICES, "shape": 40, "expr": 10},
        provenance={"source": "benchmark"},
    )
    onnx_path = work / "published_layout.onnx"
    export_onnx(net, onnx_path, meta)
    return {"wav": wav, "net": net, "fm": fm, "onnx": onnx_path, "work": work}


def _median_stages(run: Callable[[], dict[str, float]], rounds: int) -> dict[str, float]:
    run()  # warm-up (first-call allocations, packed bases, thread pools)
    samples = [run() for _ in range(rounds)]
    out = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
    out["compute"] = statistics.median(
        sum(s[k] for k in ("vad", "features", "model", "reconstruct")) for s in samples
    )
    out["total"] = statistics.median(sum(s.values()) for s in samples)
    return out


def _cmp_edge_run(setup: dict[str, Any], threads: int) -> Callable[[], dict[str, float]]:
    from cmp_edge.audio import load
    from cmp_edge.audio.vad import remove_silence
    from cmp_edge.features import log_mel
    from cmp_edge.runtime.reconstructor import Reconstructor

    rec = Reconstructor(setup["onnx"], face_model=setup["fm"], threads=threads)
    out_path = setup["work"] / f"cmp_edge_{threads}.ply"

    def run() -> dict[str, float]:
        t = {}
        t0 = time.perf_counter()
        x, _sr = load(setup["wav"])
        t1 = time.perf_counter()
        voiced = remove_silence(x)
        t2 = time.perf_counter()
        feats = rec.features_from_frames(log_mel(voiced, 16000))
        t3 = time.perf_counter()
        params = rec.unwhiten(rec.run_model(feats))
        t4 = time.perf_counter()
        verts = rec.reconstruct(params)
        t5 = time.perf_counter()
        from cmp_edge.output.mesh import save_mesh

        save_mesh(out_path, verts, rec.face_model.triangles)
        t6 = time.perf_counter()
        for k, (a, b) in {
            "load": (t0, t1), "vad": (t1, t2), "features": (t2, t3),
            "model": (t3, t4), "reconstruct": (t4, t5), "write": (t5, t6),
        }.items():  # fmt: skip
            t[k] = (b - a) * 1e3
        return t

    return run


def _published_run(
    setup: dict[str, Any], threads: int, vectorised: bool
) -> Callable[[], dict[str, float]]:
    import soundfile as sf
    import torch

    torch.set_num_threads(threads)
    net = setup["net"]
    fm = setup["fm"]
    u = fm.mean.reshape(-1).copy()
    w_shp, w_exp = np.array(fm.shape_basis), np.array(fm.expr_basis)
    tri = np.array(fm.triangles)
    features = ref.features_vectorised if vectorised else ref.features_per_frame
    out_path = setup["work"] / f"published_{threads}_{int(vectorised)}.obj"

    def run() -> dict[str, float]:
        t0 = time.perf_counter()
        x, _sr = sf.read(str(setup["wav"]), dtype="float32")
        t1 = time.perf_counter()
        voiced = ref.vad_published(x)
        t2 = time.perf_counter()
        feats = ref.repeat_pad(ref.normalize(features(voiced)), 1000)
        t3 = time.perf_counter()
        with torch.no_grad():
            p = net(torch.from_numpy(np.ascontiguousarray(feats.T[None]))).numpy()[0]
        t4 = time.perf_counter()
        values = p.astype(np.float32)
        verts = (values[0] * 0.01 + 1.0) * (u + w_shp @ values[1:41] + w_exp @ values[41:51])
        verts = verts.reshape(-1, 3)
        t5 = time.perf_counter()
        with out_path.open("w") as f:
            np.savetxt(f, verts, fmt="v %.4f %.4f %.4f")
            np.savetxt(f, tri + 1, fmt="f %d %d %d")
        t6 = time.perf_counter()
        return {
            "load": (t1 - t0) * 1e3, "vad": (t2 - t1) * 1e3, "features": (t3 - t2) * 1e3,
            "model": (t4 - t3) * 1e3, "reconstruct": (t5 - t4) * 1e3, "write": (t6 - t5) * 1e3,
        }  # fmt: skip

    return run


PIPELINES = ["cmp-edge", "published", "published+vecfeat"]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("pipeline", PIPELINES)
def test_latency(benchmark, setup, pipeline: str, threads: int) -> None:  # noqa: ANN001
    if pipeline == "cmp-edge":
        run = _cmp_edge_run(setup, threads)
    else:
        run = _published_run(setup, threads, vectorised=pipeline.endswith("vecfeat"))
    stages = _median_stages(run, ROUNDS)
    RESULTS[(pipeline, threads)] = stages
    benchmark.extra_info.update({k: round(v, 3) for k, v in stages.items()})
    benchmark.pedantic(run, rounds=3, iterations=1)
    assert all(np.isfinite(v) for v in stages.values())


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


def test_report(capsys: pytest.CaptureFixture[str]) -> None:
    """Print the comparison table (medians, ms) and the speed-up ratios."""
    if not RESULTS:
        pytest.skip("run with the latency benchmarks")
    cols = ["load", "vad", "features", "model", "reconstruct", "write", "compute", "total"]
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
                    f"{base['compute'] / ours['compute']:.1f}x (compute), "
                    f"{base['total'] / ours['total']:.1f}x (total)"
                )
    for k, v in STREAM.items():
        lines.append(f"stream {k}: {v:.3f} ms")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
