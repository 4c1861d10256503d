"""Reconstruction speed: fused C++ (float32 / float16 basis) vs NumPy, PyTorch and ONNX Runtime.

Run: ``python -m pytest benchmarks/test_reconstruct.py --benchmark-only``. Groups
are ``<model>-B<batch>``; compare medians within a group (B = 64 timings are
per call, divide by 64 for per face). Every contender computes
``s * R @ (mean + W a) + t`` for K = 50 (40 shape + 10 expression) with 2 threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cmp_edge.facemodel import FaceModel

THREADS = 2
K_SHAPE, K_EXPR = 40, 10


def _random_model(n: int) -> FaceModel:
    rng = np.random.default_rng(0)
    return FaceModel(
        rng.uniform(-8e4, 8e4, (n, 3)),
        rng.standard_normal((3 * n, K_SHAPE)) * 1e3,
        rng.standard_normal((3 * n, K_EXPR)) * 1e3,
        np.zeros((0, 3), np.int32),
        id="random-53215",
    )


_MODELS: dict[str, Callable[[], FaceModel]] = {
    "bfm53215": lambda: _random_model(53215),
    "default": FaceModel.default,
}
_CACHE: dict[str, FaceModel] = {}


def _model(name: str) -> FaceModel:
    if name not in _CACHE:
        _CACHE[name] = _MODELS[name]()
    return _CACHE[name]


def _inputs(batch: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    return {
        "a": rng.standard_normal((batch, K_SHAPE)).astype(np.float32),
        "e": rng.standard_normal((batch, K_EXPR)).astype(np.float32),
        "s": np.float32(0.9),
        "r": q.astype(np.float32),
        "t": np.array([1.0, -2.0, 3.0], np.float32),
    }


CASES = [(m, b) for m in _MODELS for b in (1, 64)]


def _group(benchmark: Any, model: str, batch: int) -> None:
    benchmark.group = f"{model}-B{batch}"
    benchmark.extra_info["faces_per_call"] = batch


@pytest.mark.parametrize(("model", "batch"), CASES)
@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_fused_cpu(benchmark: Any, model: str, batch: int, precision: str) -> None:
    fm, x = _model(model), _inputs(batch)
    out = np.empty((batch, fm.n_vertices, 3), np.float32)
    kw = dict(scale=x["s"], rotation=x["r"], translation=x["t"], threads=THREADS, out=out)
    fm.reconstruct(x["a"], x["e"], precision=precision, **kw)  # pack the basis once
    _group(benchmark, model, batch)
    benchmark(fm.reconstruct, x["a"], x["e"], precision=precision, **kw)


@pytest.mark.gpu
@pytest.mark.parametrize(("model", "batch"), CASES)
@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_fused_cuda(benchmark: Any, model: str, batch: int, precision: str) -> None:
    from cmp_edge import _C

    if _C.cuda_device_count() == 0:
        pytest.skip("no CUDA device")
    fm, x = _model(model), _inputs(batch)
    out = np.empty((batch, fm.n_vertices, 3), np.float32)
    kw = dict(scale=x["s"], rotation=x["r"], translation=x["t"], out=out, device="cuda")
    fm.reconstruct(x["a"], x["e"], precision=precision, **kw)  # upload the basis once
    _group(benchmark, model, batch)
    benchmark(fm.reconstruct, x["a"], x["e"], precision=precision, **kw)


@pytest.mark.parametrize(("model", "batch"), CASES)
def test_numpy(benchmark: Any, model: str, batch: int) -> None:
    fm, x = _model(model), _inputs(batch)
    w = np.ascontiguousarray(np.hstack([fm.shape_basis, fm.expr_basis]))
    mu = np.ascontiguousarray(fm.mean.reshape(-1))
    coef = np.hstack([x["a"], x["e"]])
    rt, s, t = np.ascontiguousarray(x["r"].T), x["s"], x["t"]

    def run() -> np.ndarray:
        if batch == 1:
            v = (w @ coef[0] + mu).reshape(-1, 3)
        else:
            v = (coef @ w.T + mu).reshape(batch, -1, 3)
        return (v @ rt) * s + t

    _group(benchmark, model, batch)
    benchmark(run)


@pytest.mark.parametrize(("model", "batch"), CASES)
def test_torch_cpu(benchmark: Any, model: str, batch: int) -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(THREADS)
    fm, x = _model(model), _inputs(batch)
    w = torch.from_numpy(np.ascontiguousarray(np.hstack([fm.shape_basis, fm.expr_basis])))
    mu = torch.from_numpy(np.ascontiguousarray(fm.mean.reshape(-1)))
    coef = torch.from_numpy(np.hstack([x["a"], x["e"]]))
    rt = torch.from_numpy(np.ascontiguousarray(x["r"].T))
    s, t = float(x["s"]), torch.from_numpy(x["t"])

    def run() -> Any:
        with torch.inference_mode():
            v = torch.addmm(mu, coef, w.T).reshape(batch, -1, 3)
            return torch.matmul(v, rt) * s + t

    _group(benchmark, model, batch)
    benchmark(run)


def _ort_session(fm: FaceModel, batch: int, x: dict[str, np.ndarray]) -> Any:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    w_t = np.ascontiguousarray(np.hstack([fm.shape_basis, fm.expr_basis]).T)  # (K, 3N)
    inits = [
        numpy_helper.from_array(w_t, "W"),
        numpy_helper.from_array(fm.mean.reshape(1, -1).astype(np.float32), "mu"),
        numpy_helper.from_array(np.array([batch, -1, 3], np.int64), "shape3"),
        numpy_helper.from_array(np.ascontiguousarray(x["r"].T), "RT"),
        numpy_helper.from_array(np.array([x["s"]], np.float32), "s"),
        numpy_helper.from_array(x["t"], "t"),
    ]
    nodes = [
        helper.make_node("MatMul", ["alpha", "W"], ["lin"]),
        helper.make_node("Add", ["lin", "mu"], ["flat"]),
        helper.make_node("Reshape", ["flat", "shape3"], ["v"]),
        helper.make_node("MatMul", ["v", "RT"], ["vr"]),
        helper.make_node("Mul", ["vr", "s"], ["vs"]),
        helper.make_node("Add", ["vs", "t"], ["out"]),
    ]
    k = w_t.shape[0]
    graph = helper.make_graph(
        nodes,
        "recon",
        [helper.make_tensor_value_info("alpha", TensorProto.FLOAT, [batch, k])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [batch, None, 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    ), onnx


@pytest.mark.parametrize(("model", "batch"), CASES)
def test_onnxruntime_cpu(benchmark: Any, model: str, batch: int) -> None:
    fm, x = _model(model), _inputs(batch)
    sess, _ = _ort_session(fm, batch, x)
    feed = {"alpha": np.ascontiguousarray(np.hstack([x["a"], x["e"]]))}  # 2-D (B, K)
    ref = fm.reconstruct(x["a"], x["e"], scale=x["s"], rotation=x["r"], translation=x["t"])
    got = sess.run(None, feed)[0]
    np.testing.assert_allclose(
        got.reshape(ref.shape), ref, rtol=1e-4, atol=1e-2 * np.abs(ref).max() * 1e-3
    )
    _group(benchmark, model, batch)
    benchmark(sess.run, None, feed)


def test_default_model_load_mmap(benchmark: Any) -> None:
    """What the first ``FaceModel.default()`` of a process costs: map the packaged .npz."""
    from cmp_edge.facemodel.packaged import default_model_data

    benchmark.group = "default-model-load"
    benchmark(lambda: FaceModel(**default_model_data()))


def test_default_model_load_copy(benchmark: Any) -> None:
    """The alternative: read the packaged .npz into memory (no memory map)."""
    from cmp_edge.facemodel.formats.npz import read_npz
    from cmp_edge.facemodel.packaged import packaged_path

    benchmark.group = "default-model-load"
    benchmark(lambda: FaceModel(**read_npz(packaged_path(), mmap=False)))
