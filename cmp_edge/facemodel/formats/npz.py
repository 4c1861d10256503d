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
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge._safe.atomic import atomic_write
from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData, model_data

__all__ = ["FORMAT", "read_npz", "save_npz"]

FORMAT = "cmp_edge.facemodel/1"
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
        "meta": np.array(json.dumps(meta)),
    }
    if regions:
        arrays["region_indices"] = np.concatenate(
            [np.asarray(r, dtype=np.int32).reshape(-1) for r in regions.values()]
        )
    with atomic_write(path, overwrite=overwrite) as handle:
        np.savez(handle, **arrays)


def _member_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Byte offset of a stored member's data inside the zip file."""
    with path.open("rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise FaceModelError(f"{path}: corrupt zip member {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def _mmap_member(path: Path, zf: zipfile.ZipFile, name: str) -> np.ndarray:
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:  # compressed: read into memory
        with zf.open(name) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    start = _member_offset(path, info)
    with path.open("rb") as f:
        f.seek(start)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        data_start = f.tell()
    if dtype.hasobject:
        raise FaceModelError(f"{path}: member {name} holds Python objects; refusing to load")
    count = int(np.prod(shape))
    if data_start + count * dtype.itemsize > start + info.file_size:
        raise FaceModelError(f"{path}: member {name} is truncated")
    if count == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(
        path, dtype=dtype, mode="r", offset=data_start, shape=shape, order="F" if fortran else "C"
    )


def read_npz(path: str | os.PathLike[str], mmap: bool = True) -> ModelData:
    """Read a cmp-edge .npz face model; with ``mmap`` the arrays map the file (no copy)."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            names = {n.removesuffix(".npy") for n in zf.namelist()}
            missing = [n for n in (*_ARRAYS, "meta", "landmark_indices") if n not in names]
            if missing:
                raise FaceModelError(
                    f"{p}: not a cmp-edge face model (.npz without {', '.join(missing)})"
                )
            with zf.open("meta.npy") as f:
                meta = json.loads(str(np.lib.format.read_array(f, allow_pickle=False)))
            if meta.get("format") != FORMAT:
                raise FaceModelError(f"{p}: unknown face-model format {meta.get('format')!r}")
            arrays: dict[str, np.ndarray] = {}
            optional = ("region_indices",) if "region_indices" in names else ()
            for name in (*_ARRAYS, "landmark_indices", *optional):
                if mmap:
                    arrays[name] = _mmap_member(p, zf, name + ".npy")
                else:
                    with zf.open(name + ".npy") as f:
                        arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError, OSError) as exc:
        if isinstance(exc, FaceModelError):
            raise
        raise FaceModelError(f"{p}: cannot read face model .npz ({exc})") from None
    names_l = meta.get("landmark_names") or []
    idx = arrays["landmark_indices"]
    if len(names_l) != len(idx):
        raise FaceModelError(f"{p}: landmark names and indices differ in length")
    return model_data(
        arrays["mean"],
        arrays["shape_basis"],
        arrays["expr_basis"],
        arrays["triangles"],
        {n: int(i) for n, i in zip(names_l, idx, strict=True)},
        arrays["shape_std"],
        arrays["expr_std"],
        units=str(meta.get("units", "mm")),
        id=str(meta.get("id", "custom")),
        source_scale=float(meta.get("source_scale", 1.0)),
        shape_names=meta.get("shape_names"),
        expr_names=meta.get("expr_names"),
        regions=_regions(p, meta, arrays.get("region_indices")),
    )


def _regions(p: Path, meta: dict[str, Any], flat: np.ndarray | None) -> dict[str, np.ndarray]:
    """Region name -> vertex indices from ``region_indices`` and the meta's names and sizes."""
    names, sizes = meta.get("region_names") or [], meta.get("region_sizes") or []
    if flat is None and not names:
        return {}
    if (
        flat is None
        or flat.ndim != 1
        or len(names) != len(sizes)
        or not all(isinstance(k, int) and k >= 0 for k in sizes)
        or sum(sizes) != flat.shape[0]
    ):
        raise FaceModelError(f"{p}: region names, sizes and indices do not agree")
    ends = np.cumsum([0, *sizes])
    return {str(n): flat[a:b] for n, a, b in zip(names, ends[:-1], ends[1:], strict=True)}
