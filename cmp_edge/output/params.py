"""The one parameter file format of cmp-edge (.npz or .json).

``.npz``: one array per parameter name plus ``__metadata__``, a 0-d string array
holding the metadata as JSON (loads with ``allow_pickle=False``).
``.json``: ``{"params": {name: nested lists}, "metadata": {...}}``.
:meth:`cmp_edge.runtime.face.Face.save` and the CLI's ``--params-json`` write it.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.atomic import write_chunks
from cmp_edge.errors import OutputError

__all__ = ["PARAM_FORMATS", "encode_params", "load_params", "params_bytes", "save_params"]

PARAM_FORMATS: Final = (".npz", ".json")
"""Suffixes of parameter files."""


def _json_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def save_params(
    path: str | os.PathLike[str],
    params: Mapping[str, npt.ArrayLike],
    metadata: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = True,
) -> None:
    """Write named parameter arrays and a metadata dict as ``.npz`` or ``.json``.

    ``.npz``: one array per parameter name plus ``__metadata__``, a 0-d string
    array holding the metadata as JSON (loads with ``allow_pickle=False``).
    ``.json``: ``{"params": {name: nested lists}, "metadata": {...}}``.

    Args:
        params: name -> array (e.g. ``{"shape": (40,), "expr": (10,), "scale": ()}``).
        metadata: JSON-serialisable dict (NumPy scalars and arrays allowed).

    Raises:
        OutputError: unknown suffix or unwritable path.
        ValueError: a reserved or empty name, or metadata that JSON cannot hold.
    """
    write_chunks(path, (params_bytes(path, params, metadata),), overwrite=overwrite)


def params_bytes(
    path: str | os.PathLike[str],
    params: Mapping[str, npt.ArrayLike],
    metadata: Mapping[str, Any] | None = None,
) -> bytes:
    """The bytes :func:`save_params` writes to ``path`` (format by its suffix).

    Raises:
        OutputError: unknown suffix.
        ValueError: a reserved or empty name, or metadata that JSON cannot hold.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in PARAM_FORMATS:
        raise OutputError(f"{path}: unknown parameter format {suffix!r}; use .npz or .json")
    arrays: dict[str, Any] = {}
    for name, value in params.items():
        if not name or name == "__metadata__":
            raise ValueError(f"parameter name {name!r} is reserved or empty")
        arrays[name] = np.asarray(value)
    try:
        meta_text = json.dumps(dict(metadata or {}), default=_json_value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata cannot be written as JSON: {exc}") from None
    return encode_params(suffix, arrays, meta_text)


def encode_params(suffix: str, arrays: Mapping[str, npt.NDArray[Any]], meta_text: str) -> bytes:
    """The bytes of a parameter file (see :func:`save_params`); ``meta_text`` is JSON."""
    if suffix == ".npz":
        buffer = io.BytesIO()
        np.savez(buffer, __metadata__=np.array(meta_text), **dict(arrays))  # type: ignore[arg-type]
        return buffer.getvalue()
    doc = {"params": {k: v.tolist() for k, v in arrays.items()}, "metadata": json.loads(meta_text)}
    return (json.dumps(doc, indent=1) + "\n").encode("utf-8")


def load_params(
    path: str | os.PathLike[str],
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """Read a file written by :func:`save_params`: (params, metadata).

    JSON parameters come back as float64/int64 arrays of the stored values.

    Raises:
        OutputError: missing, unreadable or malformed file.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(target, allow_pickle=False) as data:
                params = {k: data[k] for k in data.files if k != "__metadata__"}
                meta_text = str(data["__metadata__"]) if "__metadata__" in data.files else "{}"
            return params, json.loads(meta_text)
        if suffix == ".json":
            doc = json.loads(target.read_text(encoding="utf-8"))
            return (
                {k: np.asarray(v) for k, v in doc["params"].items()},
                dict(doc["metadata"]),
            )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OutputError(f"{target}: cannot read parameters ({exc})") from None
    raise OutputError(f"{target}: unknown parameter format {suffix!r}; use .npz or .json")
