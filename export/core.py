"""Write a PyTorch network to an ONNX bundle and verify it against PyTorch.

The graph maps ``features`` (B, 64, T) float32, B and T dynamic, to ``params``
(B, 51) whitened (and optionally ``image`` (B, 3, 64, 64) for distilled
models). The metadata keys are those of docs/architecture.md, read back by
:mod:`cmp_edge.model.bundle`.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from cmp_edge.model.layout import CMP_LAYOUT

__all__ = [
    "PARITY_TOLERANCE",
    "ExportReport",
    "ParityError",
    "bundle_metadata",
    "export_onnx",
    "quantize_variant",
    "verify_parity",
]

PARITY_TOLERANCE = 1e-4
OPSET = 17
PARAM_LAYOUT = dict(CMP_LAYOUT)


class ParityError(RuntimeError):
    """ONNX Runtime and PyTorch disagree by more than the tolerance."""


@dataclass
class ExportReport:
    """What an export wrote and measured.

    Attributes:
        path: the .onnx file.
        max_abs_diff: largest |ORT - PyTorch| over the parity inputs (whitened params).
        checks: per input shape, the max abs difference.
        size_bytes: file size.
        variants: extra files (fp16/int8) with their max abs difference to PyTorch.
    """

    path: Path
    max_abs_diff: float
    checks: dict[str, float] = field(default_factory=dict)
    size_bytes: int = 0
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [
            f"wrote {self.path} ({self.size_bytes / 1e6:.2f} MB)",
            f"parity ORT vs PyTorch: max abs diff {self.max_abs_diff:.3g} "
            f"(tolerance {PARITY_TOLERANCE:g}) over {', '.join(self.checks)}",
        ]
        for name, v in self.variants.items():
            out.append(
                f"variant {name}: {v['path']} ({v['size_bytes'] / 1e6:.2f} MB), "
                f"max abs diff vs float32 PyTorch {v['max_abs_diff']:.3g}, "
                f"mean abs diff {v['mean_abs_diff']:.3g}"
            )
        return out


def bundle_metadata(
    *,
    kind: str,
    param_mean: Any,
    param_std: Any,
    face_model_id: str,
    face_model_dims: dict[str, int],
    provenance: dict[str, Any],
    pad_to: int = 1000,
    face_model_file: str | None = None,
    param_layout: dict[str, int] | None = None,
) -> dict[str, str]:
    """The ``cmp_edge.*`` metadata_props of a bundle (all values strings).

    Args:
        param_mean, param_std: length-51 un-whitening (``value = p * std + mean``).
        face_model_dims: {"vertices": N, "shape": Ks, "expr": Ke}.
        face_model_file: a face-model file name stored beside the .onnx (optional).
    """
    layout = dict(param_layout or PARAM_LAYOUT)
    mean = [float(x) for x in np.asarray(param_mean, dtype=np.float64).ravel()]
    std = [float(x) for x in np.asarray(param_std, dtype=np.float64).ravel()]
    total = sum(layout.values())
    if len(mean) != total or len(std) != total:
        raise ValueError(
            f"param_mean/param_std must have {total} entries, got {len(mean)}/{len(std)}"
        )
    meta = {
        "cmp_edge.format": "1",
        "cmp_edge.kind": kind,
        "cmp_edge.feature_preset": "cmp",
        "cmp_edge.pad_to": str(int(pad_to)),
        "cmp_edge.param_layout": json.dumps(layout),
        "cmp_edge.param_mean": json.dumps(mean),
        "cmp_edge.param_std": json.dumps(std),
        "cmp_edge.face_model_id": face_model_id,
        "cmp_edge.face_model_dims": json.dumps({k: int(v) for k, v in face_model_dims.items()}),
        "cmp_edge.provenance": json.dumps(provenance, sort_keys=True, default=str),
    }
    if face_model_file:
        meta["cmp_edge.face_model_file"] = face_model_file
    return meta


def _set_metadata(model: Any, metadata: dict[str, str]) -> None:
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def _ort_session(data: bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])


def _parity_inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "B2xT1000": rng.standard_normal((2, 64, 1000)).astype(np.float32),
        "B1xT1337": rng.standard_normal((1, 64, 1337)).astype(np.float32),
        "B3xT1000": rng.standard_normal((3, 64, 1000)).astype(np.float32),
    }


def _torch_outputs(net: nn.Module, x: np.ndarray) -> list[np.ndarray]:
    with torch.no_grad():
        out = net(torch.from_numpy(x))
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o.detach().cpu().numpy().astype(np.float32) for o in outs]


def verify_parity(net: nn.Module, onnx_bytes: bytes) -> tuple[float, float, dict[str, float]]:
    """Compare ONNX Runtime with PyTorch on random features of several shapes.

    Every graph output (``params``, and ``embedding`` / ``image`` where exported) is
    compared with the matching PyTorch output.

    Returns:
        (max abs diff, mean abs diff, per-shape max abs diff) over all outputs.
    """
    sess = _ort_session(onnx_bytes)
    names = [o.name for o in sess.get_outputs()]
    if len(names) > 1 and hasattr(net, "forward_outputs"):
        net = _AllOutputs(net, "image" in names).eval()
    checks: dict[str, float] = {}
    worst = 0.0
    total = 0.0
    count = 0
    for name, x in _parity_inputs().items():
        refs = _torch_outputs(net, x)
        gots = sess.run(names, {"features": x})
        if len(refs) != len(gots):
            raise ParityError(f"PyTorch gives {len(refs)} outputs, the graph {names}")
        diffs = [np.abs(g.astype(np.float64) - r) for g, r in zip(gots, refs, strict=True)]
        checks[name] = float(max(d.max() for d in diffs))
        worst = max(worst, checks[name])
        total += float(sum(d.sum() for d in diffs))
        count += sum(d.size for d in diffs)
    return worst, total / max(count, 1), checks


class _AllOutputs(nn.Module):
    """Exports a model's ``forward_outputs``: params, the voice embedding (and the image)."""

    def __init__(self, net: nn.Module, with_image: bool) -> None:
        super().__init__()
        self.net = net
        self.with_image = with_image

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        forward_outputs = cast(
            "Callable[[torch.Tensor], Sequence[torch.Tensor]]", self.net.forward_outputs
        )
        outputs = forward_outputs(features)
        return tuple(outputs[:3] if self.with_image else outputs[:2])


def output_names(net: nn.Module, with_image: bool) -> list[str]:
    """The graph outputs ``net`` is exported with: ``params``, then ``embedding`` when the
    network exposes ``forward_outputs`` (the encoder's (B, 64) unit-norm voice embedding),
    then ``image`` for distilled models."""
    names = ["params"]
    if hasattr(net, "forward_outputs"):
        names.append("embedding")
    if with_image:
        names.append("image")
    return names


def export_onnx(
    net: nn.Module,
    path: str | os.PathLike[str],
    metadata: dict[str, str],
    *,
    with_image: bool = False,
    opset: int = OPSET,
    tolerance: float = PARITY_TOLERANCE,
) -> ExportReport:
    """Export ``net`` (features (B, 64, T) -> params (B, 51)) to ``path`` and verify it.

    The file is written only if ONNX Runtime matches PyTorch within ``tolerance``
    on the whitened parameters.

    Raises:
        ParityError: the exported graph disagrees with PyTorch.
    """
    import onnx

    net = net.eval()
    outputs = output_names(net, with_image)
    module: nn.Module = _AllOutputs(net, with_image).eval() if len(outputs) > 1 else net
    dynamic = {"features": {0: "batch", 2: "frames"}}
    dynamic.update({name: {0: "batch"} for name in outputs})
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(1, 64, 1000),),
            buf,  # type: ignore[arg-type]  # the TorchScript exporter writes to file objects too
            input_names=["features"],
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    _set_metadata(model, metadata)
    model.producer_name = "cmp-edge export"
    data = model.SerializeToString()
    worst, _mean, checks = verify_parity(module, data)
    if not worst <= tolerance:
        raise ParityError(
            f"ONNX Runtime differs from PyTorch by {worst:.3g} (> {tolerance:g}); not written"
        )
    target = Path(path)
    prov = json.loads(metadata.get("cmp_edge.provenance", "{}"))
    prov["export_parity_max_abs_diff"] = worst
    meta = dict(metadata)
    meta["cmp_edge.provenance"] = json.dumps(prov, sort_keys=True, default=str)
    _set_metadata(model, meta)
    data = model.SerializeToString()
    _write_bytes(target, data)
    return ExportReport(path=target, max_abs_diff=worst, checks=checks, size_bytes=len(data))


def _write_bytes(target: Path, data: bytes) -> None:
    from cmp_edge._safe.atomic import atomic_write

    with atomic_write(target) as handle:
        handle.write(data)


def quantize_variant(
    net: nn.Module, source: Path, variant: str, report: ExportReport
) -> dict[str, Any]:
    """Write a float16 (``fp16``) or dynamic int8 (``int8``) copy beside ``source``.

    The input and outputs stay float32; the accuracy change is measured against the
    float32 PyTorch model on the parity inputs and recorded in ``report.variants``.
    """
    import onnx

    target = source.with_name(f"{source.stem}.{variant}.onnx")
    if variant == "fp16":
        from onnx import numpy_helper

        model = onnx.load(str(source))
        # Store weights as float16 and cast them back to float32 in the graph: halves the
        # file, keeps every operator in float32 (portable to any CPU provider).
        graph = model.graph
        new_inits = []
        casts = []
        for init in list(graph.initializer):
            arr = numpy_helper.to_array(init)
            if arr.dtype == np.float32 and arr.size >= 16:
                half = numpy_helper.from_array(arr.astype(np.float16), init.name + "__fp16")
                new_inits.append(half)
                casts.append(
                    onnx.helper.make_node(
                        "Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT
                    )
                )
                graph.initializer.remove(init)
        graph.initializer.extend(new_inits)
        nodes = list(graph.node)
        del graph.node[:]
        graph.node.extend(casts + nodes)
        data = model.SerializeToString()
    elif variant == "int8":
        import tempfile

        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "q.onnx"
            quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8)
            data = out.read_bytes()
        model = onnx.load_from_string(data)
        src_meta = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
        _set_metadata(model, src_meta)
        data = model.SerializeToString()
    else:
        raise ValueError(f"unknown variant {variant!r}; use fp16 or int8")
    worst, mean, _checks = verify_parity(net.eval(), data)
    _write_bytes(target, data)
    info = {
        "path": str(target),
        "size_bytes": len(data),
        "max_abs_diff": worst,
        "mean_abs_diff": mean,
    }
    report.variants[variant] = info
    return info
