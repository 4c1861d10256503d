"""Surrey Face Model (eos cereal binary) loader, written from the format description.

Layout (little-endian): uint32 class version; the shape PCA model (mean
3N x 1, orthonormal basis 3N x K, eigenvalues K x 1 = variances, triangles
as uint64 count + 3 int32 each), where every matrix is int32 rows, int32
cols and float32 values in column-major order; then a colour model of the
same layout; version >= 2 an optional expression model (bool empty flag,
int32 variant: 0 PCA model, 1 blendshapes); then texture coordinates
(uint64 count of float64 pairs). Expression blendshape files are a uint64
count, then (string name, 3N x 1 matrix) each; strings are a uint64 length
plus bytes. The ibug mapping file is TOML with a ``[landmark_mappings]``
table of 1-based ibug number -> vertex index.

The file's coefficient convention is kept: basis columns are orthonormal
and ``shape_std = sqrt(eigenvalues)``.
"""

from __future__ import annotations

import os
import struct
import tomllib
from pathlib import Path

import numpy as np

from cmp_edge._safe.boundary import guarded
from cmp_edge._safe.limits import check_bytes, check_elements
from cmp_edge._safe.numbers import require_finite
from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData, model_data
from cmp_edge.facemodel.formats._units import to_mm_factor

__all__ = ["read_sfm", "read_blendshapes", "read_ibug_mapping"]

_FIX = "check that it is an eos / Surrey Face Model file"


class _Reader:
    def __init__(self, data: bytes, where: str) -> None:
        self.data, self.pos, self.where = data, 0, where

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FaceModelError(
                f"{self.where}: truncated file (needs {n} bytes at offset {self.pos}, "
                f"size {len(self.data)})"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def matrix(self) -> np.ndarray:
        rows, cols = self.unpack("ii")
        if rows < 0 or cols < 0:
            raise FaceModelError(f"{self.where}: bad matrix size {rows} x {cols} at {self.pos}")
        check_elements(rows * cols, self.where, f"a matrix at byte {self.pos}", FaceModelError)
        raw = self.take(4 * rows * cols)
        return np.frombuffer(raw, dtype="<f4").reshape(cols, rows).T.astype(np.float32)

    def triangles(self) -> np.ndarray:
        (count,) = self.unpack("Q")
        check_elements(3 * count, self.where, "the triangle list", FaceModelError)
        raw = self.take(12 * count)
        return np.frombuffer(raw, dtype="<i4").reshape(-1, 3).astype(np.int32)

    def string(self) -> str:
        (length,) = self.unpack("Q")
        if length > 1 << 20:
            raise FaceModelError(f"{self.where}: bad string length {length}")
        return self.take(length).decode("utf-8", errors="replace")


def _pca(r: _Reader) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mean, basis, ev = r.matrix(), r.matrix(), r.matrix()
    return mean, basis, ev, r.triangles()


def _column(m: np.ndarray, rows: int | None, where: str, what: str) -> np.ndarray:
    """The single column of an (rows, 1) matrix; FaceModelError for any other shape."""
    if m.shape[1] != 1 or m.shape[0] == 0 or (rows is not None and m.shape[0] != rows):
        want = f"({rows}, 1)" if rows is not None else "(3N, 1)"
        raise FaceModelError(f"{where}: {what} has shape {m.shape}, expected {want}")
    return m[:, 0]


@guarded(FaceModelError, "the blendshapes file", _FIX)
def read_blendshapes(path: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """Names and (3N, K) offsets of an eos expression-blendshapes file."""
    p = Path(path)
    check_bytes(p.stat().st_size, str(p), "the file", FaceModelError)
    r = _Reader(p.read_bytes(), str(p))
    (count,) = r.unpack("Q")
    if count > 4096:
        raise FaceModelError(f"{p}: not a blendshapes file (count {count})")
    names: list[str] = []
    cols: list[np.ndarray] = []
    for _ in range(count):
        names.append(r.string())
        rows = cols[0].shape[0] if cols else None
        cols.append(_column(r.matrix(), rows, str(p), f"blendshape {names[-1]!r:.40}"))
    if not cols:
        raise FaceModelError(f"{p}: no blendshapes")
    return names, np.stack(cols, axis=1)


@guarded(FaceModelError, "the landmark mapping", _FIX)
def read_ibug_mapping(path: str | os.PathLike[str]) -> dict[str, int]:
    """``ibug_XX`` (0-based) -> vertex index from an eos ibug_to_*.txt TOML file."""
    p = Path(path)
    try:
        table = tomllib.loads(p.read_text())["landmark_mappings"]
        return {f"ibug_{int(k) - 1:02d}": int(v) for k, v in table.items()}
    except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        raise FaceModelError(f"{p}: not an ibug landmark mapping ({exc})") from None


@guarded(FaceModelError, "the Surrey Face Model", _FIX)
def read_sfm(
    path: str | os.PathLike[str],
    blendshapes: str | os.PathLike[str] | None = None,
    landmarks: str | os.PathLike[str] | None = None,
) -> ModelData:
    """Load a Surrey Face Model .bin; blendshapes and the ibug mapping are taken from
    ``expression_blendshapes_<N>.bin`` and ``ibug_to_sfm.txt`` beside it unless given."""
    p = Path(path)
    check_bytes(p.stat().st_size, str(p), "the file", FaceModelError)
    data = p.read_bytes()
    r = _Reader(data, str(p))
    (version,) = r.unpack("I")
    if version > 16:
        raise FaceModelError(f"{p}: not a Surrey Face Model file (version field {version})")
    mean, basis, ev, tri = _pca(r)
    if mean.shape[1] != 1 or mean.shape[0] % 3 or mean.shape[0] == 0:
        raise FaceModelError(f"{p}: bad mean shape {mean.shape}")
    n = mean.shape[0] // 3
    if basis.shape[0] != 3 * n or ev.shape != (basis.shape[1], 1):
        raise FaceModelError(f"{p}: inconsistent shape model ({basis.shape}, {ev.shape})")
    if tri.size and (tri.min() < 0 or tri.max() >= n):
        raise FaceModelError(f"{p}: triangle indices outside [0, {n})")
    _pca(r)  # colour model (unused)
    expr_names: list[str] | None = None
    expr: np.ndarray | None = None
    if version >= 2:
        (empty,) = r.unpack("?")
        if not empty:
            (variant,) = r.unpack("i")
            if variant == 0:
                emean, expr, _, _ = _pca(r)
            elif variant == 1:
                (count,) = r.unpack("Q")
                if count > 4096:
                    raise FaceModelError(f"{p}: bad blendshape count {count}")
                expr_names = []
                cols: list[np.ndarray] = []
                for _ in range(count):
                    expr_names.append(r.string())
                    what = f"blendshape {expr_names[-1]!r:.40}"
                    cols.append(_column(r.matrix(), 3 * n, str(p), what))
                expr = np.stack(cols, 1) if cols else None
            else:
                raise FaceModelError(f"{p}: unknown expression model variant {variant}")
    names: dict[str, int] = {}
    if blendshapes is None:
        cand = p.with_name(f"expression_blendshapes_{n}.bin")
        blendshapes = cand if cand.is_file() and expr is None else None
    if blendshapes is not None:
        expr_names, expr = read_blendshapes(blendshapes)
        if expr.shape[0] != 3 * n:
            raise FaceModelError(f"{blendshapes}: blendshapes have {expr.shape[0] // 3} vertices")
    if landmarks is None:
        cand = p.with_name("ibug_to_sfm.txt")
        landmarks = cand if cand.is_file() else None
    if landmarks is not None:
        names = {k: v for k, v in read_ibug_mapping(landmarks).items() if 0 <= v < n}
        if "ibug_36" in names and "ibug_45" in names:
            names["oicd_left"], names["oicd_right"] = names["ibug_36"], names["ibug_45"]
    for what, values in (("mean", mean), ("basis", basis), ("expression model", expr)):
        if values is not None:
            require_finite(values, str(p), what, FaceModelError)
    mean3 = mean[:, 0].reshape(n, 3)
    factor = to_mm_factor(mean3, str(p))
    f32 = np.float32(factor)
    return model_data(
        mean3 * f32,
        basis * f32,
        None if expr is None else expr * f32,
        tri,
        names,
        shape_std=np.sqrt(np.maximum(ev[:, 0], 0.0)),
        units="mm",
        id=f"sfm-{n}",
        source_scale=factor,
        expr_names=expr_names,
    )
