"""ONNX model bundles: locate, read and validate the metadata the runtime relies on.

A bundle is one ``.onnx`` file (or a folder holding exactly one, plus an
optional face-model file) whose graph maps ``features`` (B, 64, T) float32 to
``params`` (B, 51) whitened parameters, with ``metadata_props`` as listed in
docs/architecture.md. Reading a bundle never imports ``onnx`` or ``torch``;
the metadata is read through ONNX Runtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.boundary import boundary
from cmp_edge._safe.jsonsafe import loads, require_number
from cmp_edge._safe.limits import get_limits
from cmp_edge._safe.paths import bare_name_in
from cmp_edge.errors import ModelError
from cmp_edge.model.session import open_session

if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime

__all__ = [
    "BUNDLE_FORMAT",
    "REQUIRED_KEYS",
    "BundleInfo",
    "default_model_path",
    "parse_metadata",
    "read_bundle",
    "resolve_model_path",
]

BUNDLE_FORMAT = "1"
PREFIX = "cmp_edge."
REQUIRED_KEYS = (
    "format",
    "kind",
    "feature_preset",
    "pad_to",
    "param_layout",
    "param_mean",
    "param_std",
    "face_model_id",
    "face_model_dims",
    "provenance",
)
KNOWN_KINDS = ("supervised", "distill", "published_supervised", "published_distill")
FACE_MODEL_SUFFIX = ".npz"
"""The only face-model format a bundle may name (what ``python -m export`` writes)."""
_FIX = "re-export it with `python -m export` or use another model"


def default_model_path() -> Path:
    """Path of the shipped default bundle, ``cmp_edge/models/default.onnx``."""
    return Path(__file__).resolve().parent.parent / "models" / "default.onnx"


def resolve_model_path(model: str | os.PathLike[str] | None, *, option: str = "model=") -> Path:
    """The ``.onnx`` file for ``model``: None -> default bundle; a folder -> its single .onnx.

    ``option`` is how the user gave the path (for messages), e.g. ``"model="``.

    Raises:
        ModelError: the path does not exist, or a folder holds no or several .onnx files.
    """
    if model is None:
        path = default_model_path()
        if not path.is_file():
            raise ModelError(
                f"{path}: the default model is missing from this installation; "
                "reinstall cmp-edge or rebuild it with `python -m export.default_bundle`"
            )
        return path
    path = Path(model)
    if path.is_dir():
        candidates = sorted(path.glob("*.onnx"))
        if len(candidates) != 1:
            found = "no" if not candidates else f"{len(candidates)}"
            raise ModelError(
                f"{path}: bundle folder holds {found} .onnx files; "
                f"pass the .onnx file itself to {option}"
            )
        return candidates[0]
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; check the path given to {option}")
    return path


@dataclass(frozen=True)
class BundleInfo:
    """Metadata of an ONNX bundle, parsed and checked.

    Attributes:
        path: the .onnx file.
        kind: training kind ("supervised", "distill", "published_supervised", ...).
        feature_preset: the speech-feature preset (only "cmp" is known).
        pad_to: features shorter than this many frames are repeat-padded to it.
        param_layout: parameter counts in output order, e.g. {"scale": 1, "shape": 40, "expr": 10}.
        param_mean, param_std: (P,) float64 un-whitening, ``value = p * std + mean``.
        face_model_id: id of the face model the parameters refer to.
        face_model_dims: {"vertices": N, "shape": Ks, "expr": Ke} of that face model.
        face_model_file: a face-model file stored beside the .onnx, or None.
        provenance: free-form JSON (training run, data, parity measured on export).
        outputs: names of the graph outputs (``params`` first).
        extra: every metadata entry, raw strings.
    """

    path: Path
    kind: str
    feature_preset: str
    pad_to: int
    param_layout: dict[str, int]
    param_mean: npt.NDArray[np.float64]
    param_std: npt.NDArray[np.float64]
    face_model_id: str
    face_model_dims: dict[str, int]
    face_model_file: Path | None
    provenance: dict[str, Any]
    outputs: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def num_params(self) -> int:
        """Length P of the parameter vector (51 for the CMP layout)."""
        return int(sum(self.param_layout.values()))

    def slices(self) -> dict[str, slice]:
        """Slices of the parameter vector by name, in output order."""
        out: dict[str, slice] = {}
        start = 0
        for name, count in self.param_layout.items():
            out[name] = slice(start, start + count)
            start += count
        return out

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (for ``cmp-edge info``)."""
        return {
            "path": str(self.path),
            "kind": self.kind,
            "feature_preset": self.feature_preset,
            "pad_to": self.pad_to,
            "param_layout": self.param_layout,
            "face_model_id": self.face_model_id,
            "face_model_dims": self.face_model_dims,
            "face_model_file": str(self.face_model_file) if self.face_model_file else None,
            "outputs": list(self.outputs),
            "provenance": self.provenance,
        }


def _json(path: Path, meta: dict[str, str], key: str) -> Any:
    return loads(meta[PREFIX + key], str(path), f"metadata {PREFIX}{key}", ModelError, _FIX)


def _numbers(path: Path, value: Any, key: str, count: int) -> npt.NDArray[np.float64]:
    """``value`` as (count,) float64 if it is a list of ``count`` finite numbers."""
    if not isinstance(value, list) or len(value) != count:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise ModelError(
            f"{path}: {key} must be a list of {count} finite numbers (got {got}); {_FIX}"
        )
    where = str(path)
    return np.array([require_number(v, where, key, ModelError, _FIX) for v in value], np.float64)


def _count(value: Any) -> bool:
    """True for a non-negative integer (booleans are not integers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_metadata(path: Path, meta: dict[str, str]) -> BundleInfo:
    """Parse and check the ``cmp_edge.*`` metadata of the bundle at ``path``.

    Raises:
        ModelError: a key is missing or malformed, or the format is unknown.
    """
    missing = [PREFIX + k for k in REQUIRED_KEYS if PREFIX + k not in meta]
    if len(missing) == len(REQUIRED_KEYS):
        raise ModelError(
            f"{path}: not a cmp-edge model (no {PREFIX}* metadata); "
            "export it with `python -m export` first"
        )
    if missing:
        raise ModelError(f"{path}: metadata lacks {', '.join(missing)}; {_FIX}")
    if meta[PREFIX + "format"] != BUNDLE_FORMAT:
        raise ModelError(
            f"{path}: bundle format {meta[PREFIX + 'format']!r} is not supported "
            f"(this cmp-edge reads format {BUNDLE_FORMAT}); upgrade cmp-edge or re-export"
        )
    preset = meta[PREFIX + "feature_preset"]
    if preset != "cmp":
        raise ModelError(f"{path}: unknown feature preset {preset!r}; {_FIX}")
    try:
        pad_to = int(str(meta[PREFIX + "pad_to"]).strip(), 10)
    except ValueError:
        raise ModelError(f"{path}: metadata {PREFIX}pad_to is not an integer; {_FIX}") from None
    pad_limit = get_limits().max_pad_frames
    if not 0 <= pad_to <= pad_limit:
        raise ModelError(
            f"{path}: metadata {PREFIX}pad_to = {pad_to} is outside 0..{pad_limit} frames; "
            f"{_FIX} (or raise cmp_edge.limits max_pad_frames)"
        )
    layout = _json(path, meta, "param_layout")
    if (
        not isinstance(layout, dict)
        or not layout
        or not all(_count(v) and v > 0 for v in layout.values())
        or list(layout)[:1] != ["scale"]
        or layout.get("scale") != 1
        or "shape" not in layout
    ):
        raise ModelError(
            f'{path}: parameter layout {layout!r} is not {{"scale": 1, "shape": Ks, ...}}; ' + _FIX
        )
    total = sum(layout.values())
    mean = _numbers(path, _json(path, meta, "param_mean"), "param_mean", total)
    std = _numbers(path, _json(path, meta, "param_std"), "param_std", total)
    dims = _json(path, meta, "face_model_dims")
    if not isinstance(dims, dict) or not all(
        _count(dims.get(k)) for k in ("vertices", "shape", "expr")
    ):
        raise ModelError(
            f"{path}: face_model_dims {dims!r} lacks integer vertices/shape/expr; {_FIX}"
        )
    if layout["shape"] > dims["shape"] or layout.get("expr", 0) > dims["expr"]:
        raise ModelError(
            f"{path}: parameter layout {layout} needs more modes than the face model "
            f"dims {dims}; {_FIX}"
        )
    provenance = _json(path, meta, "provenance")
    for key in ("kind", "face_model_id"):
        if not isinstance(meta[PREFIX + key], str) or len(meta[PREFIX + key]) > 200:
            raise ModelError(f"{path}: metadata {PREFIX}{key} is not a short string; {_FIX}")
    fm_name = meta.get(PREFIX + "face_model_file")
    fm_file = None
    if fm_name:
        fm_file = bare_name_in(
            path.parent, fm_name, FACE_MODEL_SUFFIX, str(path), "face_model_file", ModelError, _FIX
        )
    return BundleInfo(
        path=path,
        kind=meta[PREFIX + "kind"],
        feature_preset=preset,
        pad_to=pad_to,
        param_layout={str(k): int(v) for k, v in layout.items()},
        param_mean=mean,
        param_std=std,
        face_model_id=meta[PREFIX + "face_model_id"],
        face_model_dims={k: int(dims[k]) for k in ("vertices", "shape", "expr")},
        face_model_file=fm_file,
        provenance=provenance if isinstance(provenance, dict) else {"value": provenance},
        extra=dict(meta),
    )


def check_signature(path: Path, session: onnxruntime.InferenceSession, num_params: int) -> None:
    """Check the graph has input ``features`` (B, 64, T) float32 and output ``params`` (B, P).

    Raises:
        ModelError: other inputs, ranks, element types or sizes.
    """
    inputs = session.get_inputs()
    names = [i.name for i in inputs]
    if names != ["features"]:
        raise ModelError(
            f"{path}: model inputs are {names}, expected one input 'features' (B, 64, T); "
            "it is not a cmp-edge voice model, export one with `python -m export`"
        )
    shape = inputs[0].shape
    if inputs[0].type != "tensor(float)" or len(shape) != 3 or shape[1] not in (64, "64"):
        raise ModelError(
            f"{path}: input 'features' is {inputs[0].type} {shape}, expected float (B, 64, T); "
            + _FIX
        )
    outputs = {o.name: o for o in session.get_outputs()}
    if "params" not in outputs:
        raise ModelError(f"{path}: model has no output 'params' (has {list(outputs)}); {_FIX}")
    oshape = outputs["params"].shape
    if len(oshape) != 2 or (isinstance(oshape[1], int) and oshape[1] != num_params):
        raise ModelError(
            f"{path}: output 'params' has shape {oshape}, metadata says {num_params} "
            f"parameters; {_FIX}"
        )


def read_bundle(
    model: str | os.PathLike[str] | None,
    session: onnxruntime.InferenceSession | None = None,
    *,
    option: str = "model=",
) -> BundleInfo:
    """Locate, open (if no ``session`` is given) and validate a bundle; return its metadata.

    ``option`` names how the user gave the path, for messages (see :func:`resolve_model_path`).

    Raises:
        ModelError: not an ONNX file, not a cmp-edge model, or malformed metadata.
    """
    path = resolve_model_path(model, option=option)
    if session is None:
        session = open_session(path, ["CPUExecutionProvider"], threads=1)
    with boundary(ModelError, path, "the model metadata", _FIX):
        meta = dict(session.get_modelmeta().custom_metadata_map)
        info = parse_metadata(path, meta)
    check_signature(path, session, info.num_params)
    outputs = tuple(o.name for o in session.get_outputs())
    return replace(info, outputs=outputs)
