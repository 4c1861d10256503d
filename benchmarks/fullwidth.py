"""The published network at full width (random weights) and a BFM-sized face model.

Shared by the latency, cold-start, batch and session benchmarks: 10 s of real
speech (a LibriSpeech excerpt from ../shared resampled to a 16 kHz WAV), the
published supervised layout (VoiceEncoder width 1 + decoder, train/models.py,
fixed seed 0) exported by export/, and a face model of the published BFM size
(53215 vertices, 40 shape + 10 expression modes, random values).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

SPEECH = "speech/librispeech_ogg/3436-172162-0000.ogg"
N_VERTICES = 53215
ROUNDS = int(os.environ.get("CMP_EDGE_BENCH_ROUNDS", "15"))


def build(shared_data: Path, work: Path) -> dict[str, Any]:
    """Write the WAV, the bundle and the face model into ``work``; return their paths."""
    import soundfile as sf
    import torch

    from cmp_edge.audio import load, resample
    from cmp_edge.facemodel import FaceModel
    from export.core import bundle_metadata, export_onnx
    from train.models import SupervisedCMP, SupervisedDecoder, VoiceEncoder

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
    fm_path = work / "bench_bfm.npz"
    fm.save(fm_path)
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
    net_path = work / "published_layout.pt"
    torch.save(net.state_dict(), net_path)
    return {
        "wav": wav, "net": net, "net_path": net_path, "fm": fm, "fm_path": fm_path,
        "onnx": onnx_path, "work": work,
    }  # fmt: skip


def load_average() -> str:
    """The 1-minute load average and core count, for the tables (the machine may be shared)."""
    try:
        one = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on Linux
        return "load n/a"
    return f"load {one:.1f} on {os.cpu_count()} cores"


def summary(values: list[float]) -> str:
    """'median (min-max)' in ms."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def published_run(
    setup: dict[str, Any], threads: int, vectorised: bool
) -> Callable[..., dict[str, float]]:
    """The published pipeline re-created: one call -> stage timings in ms."""
    import soundfile as sf
    import torch

    from tests.runtime import reference as ref

    torch.set_num_threads(threads)
    net = setup["net"]
    fm = setup["fm"]
    u = fm.mean.reshape(-1).copy()
    w_shp, w_exp = np.array(fm.shape_basis), np.array(fm.expr_basis)
    tri = np.array(fm.triangles)
    features = ref.features_vectorised if vectorised else ref.features_per_frame
    out_path = setup["work"] / f"published_{threads}_{int(vectorised)}.obj"

    def run(wav: Path | None = None) -> dict[str, float]:
        source = Path(wav) if wav is not None else Path(setup["wav"])
        target = out_path if wav is None else out_path.with_name(f"{source.stem}_published.obj")
        c0 = time.process_time()
        t0 = time.perf_counter()
        x, _sr = sf.read(str(source), dtype="float32")
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
        c5 = time.process_time()
        with target.open("w") as f:
            np.savetxt(f, verts, fmt="v %.4f %.4f %.4f")
            np.savetxt(f, tri + 1, fmt="f %d %d %d")
        t6 = time.perf_counter()
        return {
            "load": (t1 - t0) * 1e3, "vad": (t2 - t1) * 1e3, "features": (t3 - t2) * 1e3,
            "model": (t4 - t3) * 1e3, "reconstruct": (t5 - t4) * 1e3, "write": (t6 - t5) * 1e3,
            "cpu": (c5 - c0) * 1e3,
        }  # fmt: skip

    return run


def load_setup(work: Path) -> dict[str, Any]:
    """The files written by :func:`build`, loaded again (for fresh processes)."""
    import torch

    from cmp_edge.facemodel import FaceModel
    from train.models import SupervisedCMP, SupervisedDecoder, VoiceEncoder

    net = SupervisedCMP(VoiceEncoder(), SupervisedDecoder()).eval()
    net.load_state_dict(torch.load(work / "published_layout.pt", weights_only=True))
    return {
        "wav": work / "speech10s.wav", "net": net, "fm": FaceModel.load(work / "bench_bfm.npz"),
        "onnx": work / "published_layout.onnx", "work": work,
    }  # fmt: skip
