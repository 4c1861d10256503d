"""Give a bundle exported before 0.2 its ``embedding`` output, without retraining.

Bundles exported since 0.2 output the voice encoder's (B, 64) unit-norm embedding
beside the parameters (``export.core``, the networks' ``forward_outputs``). Older
bundles compute it too, as an inner tensor: PyTorch's exporter names every tensor
of the encoder module ``.../encoder/...``, and the embedding is the one encoder
tensor the decoder reads. This tool adds an ``Identity`` node that exposes that
tensor as the graph output ``embedding``; no weight or other node changes. The
result is checked with ONNX Runtime before anything is written: ``params`` equal
to the original bit for bit, the embedding (B, 64) with unit L2 norm.

    python -m export.embedding cmp_edge/models/default.onnx      # in place
    python -m export.embedding old.onnx -o new.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge.errors import ModelError

__all__ = ["add_embedding_output", "encoder_output", "main"]

EMBEDDING = "embedding"


def encoder_output(graph: Any) -> str:
    """The name of the encoder tensor the rest of the graph reads (the embedding).

    Raises:
        ModelError: no such tensor, or more than one.
    """

    def in_encoder(name: str) -> bool:
        return "/encoder/" in name

    produced = {out for node in graph.node if in_encoder(node.name) for out in node.output}
    read = {
        name
        for node in graph.node
        if not in_encoder(node.name)
        for name in node.input
        if name in produced
    }
    if len(read) != 1:
        raise ModelError(
            f"the graph has {len(read)} encoder tensors read outside the encoder "
            f"({sorted(read)[:4]}); it is not a supervised CMP bundle; re-export it"
        )
    return read.pop()


def add_embedding_output(model: Any) -> Any:
    """``model`` (an ``onnx.ModelProto``, changed in place and returned) with the output
    ``embedding`` (B, 64) float32 after its existing outputs.

    Raises:
        ModelError: the model already has it, or its encoder output cannot be found.
    """
    import onnx
    from onnx import TensorProto, helper

    graph = model.graph
    if any(o.name == EMBEDDING for o in graph.output):
        raise ModelError("the model already outputs 'embedding'; nothing to do")
    source = encoder_output(graph)
    graph.node.append(helper.make_node("Identity", [source], [EMBEDDING], name="/embedding"))
    graph.output.append(helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, ["batch", 64]))
    onnx.checker.check_model(model)
    return model


def _check(original: bytes, updated: bytes) -> float:
    """Max |params difference| (must be 0) after checking the embedding's shape and norm."""
    import onnxruntime as ort

    def session(data: bytes) -> Any:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])

    old, new = session(original), session(updated)
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch, frames in ((1, 1000), (3, 1337)):
        x = rng.standard_normal((batch, 64, frames)).astype(np.float32)
        (ref,) = old.run(["params"], {"features": x})
        params, emb = new.run(["params", EMBEDDING], {"features": x})
        if emb.shape != (batch, 64):
            raise ModelError(f"the embedding has shape {emb.shape}, expected ({batch}, 64)")
        norm = np.linalg.norm(emb, axis=1)
        if not np.allclose(norm, 1.0, atol=1e-4):
            raise ModelError(f"the tensor found is not unit-norm (norms {norm}); not written")
        worst = max(worst, float(np.abs(params - ref).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    p = argparse.ArgumentParser(
        prog="python -m export.embedding",
        description="Add the voice-embedding output to a bundle exported before 0.2.",
    )
    p.add_argument("bundle", type=Path, help="the .onnx bundle")
    p.add_argument("-o", "--output", type=Path, help="output .onnx (default: in place)")
    args = p.parse_args(argv)
    import onnx

    from cmp_edge._safe.atomic import atomic_write

    try:
        original = args.bundle.read_bytes()
        model = add_embedding_output(onnx.load_from_string(original))
        updated = model.SerializeToString()
        diff = _check(original, updated)
        if diff != 0.0:
            raise ModelError(f"params changed by {diff:.3g}; not written")
        with atomic_write(args.output or args.bundle) as handle:
            handle.write(updated)
    except (ModelError, OSError) as exc:
        print(f"python -m export.embedding: error: {args.bundle}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output or args.bundle}: outputs params, {EMBEDDING}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
