"""Tiny ONNX bundles built with the ``onnx`` package (no torch), with any metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tests.hostile.craft import tiny_model_arrays

LAYOUT = {"scale": 1, "shape": 2, "expr": 1}


def tiny_face_model() -> Any:
    """The 4-vertex face model (id "custom", 2 shape + 1 expression modes, mm)."""
    from cmp_edge.facemodel import FaceModel

    arrays = tiny_model_arrays()
    return FaceModel(
        arrays["u"].reshape(-1, 3) / 1000,
        arrays["w_shp"],
        arrays["w_exp"],
        np.array([[0, 1, 2], [1, 2, 3]]),
    )


def metadata(**overrides: str) -> dict[str, str]:
    """Valid ``cmp_edge.*`` metadata for :func:`tiny_face_model`, with overrides (raw strings)."""
    meta = {
        "format": "1",
        "kind": "supervised",
        "feature_preset": "cmp",
        "pad_to": "100",
        "param_layout": json.dumps(LAYOUT),
        "param_mean": json.dumps([1.0, 0.0, 0.0, 0.0]),
        "param_std": json.dumps([0.01, 1.0, 1.0, 1.0]),
        "face_model_id": "custom",
        "face_model_dims": json.dumps({"vertices": 4, "shape": 2, "expr": 1}),
        "provenance": json.dumps({"source": "hostile-test"}),
    }
    meta.update(overrides)
    return {f"cmp_edge.{k}": v for k, v in meta.items()}


def write_bundle(
    path: Path, meta: dict[str, str], *, external: str | None = None, seed: int = 0
) -> Path:
    """features (B, 64, T) -> mean over T -> MatMul W (64, P) -> params (B, P).

    ``external``: store W as external data at this location (relative to the model).
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = (rng.standard_normal((64, sum(LAYOUT.values()))) * 0.1).astype(np.float32)
    w = numpy_helper.from_array(weights, "W")
    if external is not None:
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
        for key, value in (
            ("location", external),
            ("offset", "0"),
            ("length", str(weights.nbytes)),
        ):
            entry = w.external_data.add()
            entry.key, entry.value = key, value
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["features"], ["pooled"], axes=[2], keepdims=0),
            helper.make_node("MatMul", ["pooled", "W"], ["params"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["B", 64, "T"])],
        [helper.make_tensor_value_info("params", TensorProto.FLOAT, ["B", 4])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path.write_bytes(model.SerializeToString())
    return path
