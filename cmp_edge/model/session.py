"""ONNX Runtime sessions and execution providers for cmp-edge bundles.

CUDA is requested only when the caller asks for it and a device is really
usable (:func:`cmp_edge._native.device_count`); the CPU provider is always
the fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cmp_edge import _native
from cmp_edge.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime

__all__ = [
    "CPU",
    "CUDA",
    "DEVICES",
    "open_session",
    "ort_providers",
    "providers_for",
    "resolve_providers",
]

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("cpu", "cuda")
"""Device names of the API (``device=``) and the CLI (``--device``)."""


def providers_for(device: str | None, providers: Sequence[str] | None) -> list[str] | None:
    """Providers for a device name: "cuda" -> [CUDA, CPU], "cpu" -> [CPU]; None keeps
    ``providers`` (None: CPU only).

    Raises:
        ModelError: an unknown device, or a device together with providers.
    """
    if device is None:
        return None if providers is None else list(providers)
    if device not in DEVICES:
        raise ModelError(f"device: {device!r} is unknown; use 'cpu' or 'cuda'")
    if providers is not None:
        raise ModelError("pass either device or providers, not both")
    return [CUDA, CPU] if device == "cuda" else [CPU]


def ort_providers() -> list[str]:
    """Execution providers this ONNX Runtime build offers."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def resolve_providers(
    providers: Sequence[str] | None,
) -> tuple[list[str], Literal["cpu", "cuda"]]:
    """Providers to ask ONNX Runtime for, and the device of the 3DMM reconstruction.

    CUDA is kept only when it is asked for, a CUDA device is usable
    (:func:`cmp_edge._native.device_count`, independent of how ``_C`` was built)
    and this ONNX Runtime offers it; the reconstruction runs on "cuda" when CUDA
    is asked for, a device is usable and ``_C`` has CUDA kernels, else on "cpu".
    """
    if providers is None:
        return [CPU], "cpu"
    wanted = [str(p) for p in providers]
    if not wanted:
        raise ModelError("providers: the list is empty; pass e.g. ['CPUExecutionProvider']")
    device: Literal["cpu", "cuda"] = "cpu"
    if CUDA in wanted:
        if _native.device_count() <= 0:
            raise ModelError(
                "device='cuda': no CUDA device is visible; use device='cpu' (the default)"
            )
        if _native.native_kernels():
            device = "cuda"
        if CUDA not in ort_providers():  # e.g. the CPU-only onnxruntime package
            wanted.remove(CUDA)
    if CPU not in wanted:
        wanted.append(CPU)
    return wanted, device


def open_session(
    path: Path, providers: list[str], threads: int | None
) -> onnxruntime.InferenceSession:
    """Create an ONNX Runtime session, turning load failures into :class:`ModelError`."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # Worker threads sleep instead of spinning between runs: on a shared or busy CPU,
    # spinning threads steal the cores the other stages need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if len(first) > 160:
            first = first[:157] + "..."
        raise ModelError(
            f"{path}: not a loadable ONNX model ({first}); pass a bundle made by `python -m export`"
        ) from None
