"""cmp-edge's own face-model format: an uncompressed .npz of float32 arrays.

Members (all stored uncompressed, so each can be memory-mapped in place):
``mean`` (N, 3) f4, ``shape_basis`` (3N, Ks) f4, ``expr_basis`` (3N, Ke) f4,
``triangles`` (F, 3) i4, ``shape_std`` (Ks,) f4, ``expr_std`` (Ke,) f4,
``landmark_indices`` (L,) i4, optionally ``region_indices`` (sum of the region
sizes,) i4 (the regions' vertex lists one after another), and ``meta`` (a 0-d
unicode array holding JSON: format, id, units, source_scale, landmark_names,
shape_names, expr_names, and with regions region_names and region_sizes).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge._safe.atomic import atomic_write
from cmp_edge._safe.boundary import guarded
from cmp_edge._safe.jsonsafe import loads, require_number
from cmp_edge._safe.npyfile import read_npz_member
from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData, model_data

__all__ = ["FORMAT", "read_npz", "save_npz"]

FORMAT = "cmp_edge.facemodel/1"
_FIX = "convert the model again with `python -m cmp_edge.facemodel convert`"
_ARRAYS = ("mean", "shape_basis", "expr_basis", "triangles", "shape_std", "expr_std")


def save_npz(model: Any, path: str | os.PathLike[str], overwrite: bool = True) -> None:
    """Write ``model`` to ``path`` (.npz, uncompressed, atomic)."""
    names = list(model.landmarks)
    meta = {
        "format": FORMAT,
        "id": model.id,
        "units": model.units,
        "source_scale": model.source_scale,
        "landmark_names": names,
        "shape_names": list(model.shape_names) if model.shape_names is not None else None,
        "expr_names": list(model.expr_names) if model.expr_names is not None else None,
    }
    regions = dict(getattr(model, "regions", None) or {})
    if regions:
        meta["region_names"] = list(regions)
        meta["region_sizes"] = [int(np.size(r)) for r in regions.values()]
    arrays: dict[str, Any] = {
        "mean": np.ascontiguousarray(model.mean, dtype=np.float32),
        "shape_basis": np.ascontiguousarray(model.shape_basis, dtype=np.float32),
        "expr_basis": np.ascontiguousarray(model.expr_basis, dtype=np.float32),
        "triangles": np.ascontiguousarray(model.triangles, dtype=np.int32),
        "shape_std": np.ascontiguousarray(model.shape_std, dtype=np.float32),
        "expr_std": np.ascontiguousarray(model.expr_std, dtype=np.float32),
        "landmark_indices": np.array([model.landmarks[n] for n in names], dtype=np.int32),
    }
    if regions:
        arrays["region_indices"] = np.concatenate(
            [np.asarray(r, dtype=np.int32).reshape(-1) for r in regions.values()]
        )
    arrays["meta"] = np.array(json.dumps(meta))
    with atomic_write(path, overwrite=overwrite) as handle:
        np.savez(handle, **arrays)


def _meta_fields(meta: Any, where: str) -> dict[str, Any]:
    """The checked fields of the ``meta`` JSON (types as :func:`save_npz` writes them)."""
    if not isinstance(meta, dict):
        raise FaceModelError(f"{where}: meta is not a JSON object; {_FIX}")
    if meta.get("format") != FORMAT:
        raise FaceModelError(f"{where}: unknown face-model format {meta.get('format')!r:.60}")
    out: dict[str, Any] = {}
    for key, default in (("units", "mm"), ("id", "custom")):
        value = meta.get(key, default)
        if not isinstance(value, str) or len(value) > 200:
            raise FaceModelError(f"{where}: meta {key} must be a short string; {_FIX}")
        out[key] = value
    out["source_scale"] = require_number(
        meta.get("source_scale", 1.0), where, "meta source_scale", FaceModelError, _FIX
    )
    for key in ("landmark_names", "shape_names", "expr_names"):
        value = meta.get(key)
        if value is None:
            out[key] = [] if key == "landmark_names" else None
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = value
        else:
            raise FaceModelError(f"{where}: meta {key} must be a list of strings; {_FIX}")
    return out


@guarded(FaceModelError, "face model .npz", _FIX)
def read_npz(path: str | os.PathLike[str], mmap: bool = True) -> ModelData:
    """Read a cmp-edge .npz face model; with ``mmap`` the arrays map the file (no copy).

    Raises:
        FaceModelError: not a cmp-edge .npz, malformed metadata, members that are not
            numeric, exceed :mod:`cmp_edge._safe.limits` or do not hold their declared data.
    """
    p = Path(path)
    where = str(p)
    with zipfile.ZipFile(p) as zf:
        names = {n.removesuffix(".npy") for n in zf.namelist()}
        missing = [n for n in (*_ARRAYS, "meta", "landmark_indices") if n not in names]
        if missing:
            raise FaceModelError(
                f"{p}: not a cmp-edge face model (.npz without {', '.join(missing)})"
            )
        text = read_npz_member(p, zf, "meta.npy", where, FaceModelError, text=True)
        if text.ndim != 0 or text.dtype.kind != "U":
            raise FaceModelError(f"{p}: meta is not a text value; {_FIX}")
        raw_meta = loads(str(text), where, "meta", FaceModelError, _FIX)
        meta = _meta_fields(raw_meta, where)
        arrays: dict[str, np.ndarray] = {}
        optional = ("region_indices",) if "region_indices" in names else ()
        for name in (*_ARRAYS, "landmark_indices", *optional):
            arrays[name] = read_npz_member(p, zf, name + ".npy", where, FaceModelError, mmap=mmap)
        regions = _regions(p, raw_meta, arrays.get("region_indices"))
    names_l = meta["landmark_names"]
    idx = arrays["landmark_indices"]
    if idx.ndim != 1 or idx.dtype.kind not in "iu" or len(names_l) != len(idx):
        raise FaceModelError(f"{p}: landmark names and indices differ in length or type")
    return model_data(
        arrays["mean"],
        arrays["shape_basis"],
        arrays["expr_basis"],
        arrays["triangles"],
        {n: int(i) for n, i in zip(names_l, idx, strict=True)},
        arrays["shape_std"],
        arrays["expr_std"],
        units=meta["units"],
        id=meta["id"],
        source_scale=meta["source_scale"],
        shape_names=meta["shape_names"],
        expr_names=meta["expr_names"],
        regions=regions,
    )


def _regions(p: Path, meta: dict[str, Any], flat: np.ndarray | None) -> dict[str, np.ndarray]:
    """Region name -> vertex indices from ``region_indices`` and the meta's names and sizes."""
    names, sizes = meta.get("region_names") or [], meta.get("region_sizes") or []
    if flat is None and not names:
        return {}
    if (
        flat is None
        or flat.ndim != 1
        or not np.issubdtype(flat.dtype, np.integer)
        or not isinstance(names, list)
        or not isinstance(sizes, list)
        or not all(isinstance(n, str) for n in names)
        or len(names) != len(sizes)
        or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in sizes)
        or sum(sizes) != flat.shape[0]
    ):
        raise FaceModelError(f"{p}: region names, sizes and indices do not agree; {_FIX}")
    ends = np.cumsum([0, *sizes])
    return {str(n): flat[a:b] for n, a, b in zip(names, ends[:-1], ends[1:], strict=True)}
