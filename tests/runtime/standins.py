"""Temporary stand-ins for modules of other parts that have not landed yet.

:func:`install` registers minimal NumPy versions of ``cmp_edge.features``,
``cmp_edge.vad``, ``cmp_edge.audio``, ``cmp_edge.facemodel`` and ``cmp_edge.mesh``
only for names that cannot be imported, so the runtime tests exercise the real
modules as soon as they exist.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

from tests.runtime import reference as ref


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True


class _LogMelOptions:
    @classmethod
    def preset(cls, name: str = "cmp") -> _LogMelOptions:
        return cls()


class _OnlineLogMel:
    def __init__(self, options: Any = None) -> None:
        self._x = np.zeros(0, np.float32)
        self._done = False
        self._first = 0

    def accept_waveform(self, samples: Any) -> None:
        self._x = np.concatenate([self._x, np.asarray(samples, np.float32)])

    def input_finished(self) -> None:
        self._done = True

    @property
    def num_frames_ready(self) -> int:
        n = self._x.shape[0]
        if self._done:
            return n // 160 + 1
        return max(0, (n - 400) // 160 + 1) if n >= 400 else 0

    def get_frames(self, start: int, count: int) -> np.ndarray:
        return ref.features_vectorised(self._x)[start : start + count]

    def pop(self, count: int) -> None:
        self._first += count


class _FaceModel:
    def __init__(
        self,
        mean,
        shape_basis,
        expr_basis,
        triangles,
        landmarks=None,
        shape_std=None,
        expr_std=None,
        units="mm",
        id="x",
    ) -> None:  # noqa: A002
        self.mean = np.asarray(mean, np.float32)
        self.shape_basis = np.asarray(shape_basis, np.float32)
        self.expr_basis = np.asarray(expr_basis, np.float32)
        self.triangles = np.asarray(triangles, np.int32)
        self.landmarks = landmarks or {}
        self.units = units
        self.id = id

    @classmethod
    def default(cls) -> _FaceModel:
        rng = np.random.default_rng(7)
        n = 500
        return cls(
            rng.standard_normal((n, 3)) * 50,
            rng.standard_normal((3 * n, 40)),
            rng.standard_normal((3 * n, 10)),
            rng.integers(0, n, (900, 3)),
            id="cmp-edge-synthetic-v1",
        )

    def save(self, path: Any) -> None:
        np.savez(
            path,
            mean=self.mean,
            shape_basis=self.shape_basis,
            expr_basis=self.expr_basis,
            triangles=self.triangles,
            id=np.array(self.id),
            units=np.array(self.units),
        )

    @classmethod
    def load(cls, path: Any) -> _FaceModel:
        d = np.load(path)
        return cls(
            d["mean"],
            d["shape_basis"],
            d["expr_basis"],
            d["triangles"],
            units=str(d["units"]),
            id=str(d["id"]),
        )

    def reconstruct(self, shape, expr=None, *, scale=1.0, **_: Any) -> np.ndarray:
        p = np.concatenate([[scale], shape, expr if expr is not None else np.zeros(10)])
        return ref.reconstruct_numpy(self.mean, self.shape_basis, self.expr_basis, p)


def _save_mesh(
    path: Any, vertices: Any, triangles: Any, colors: Any = None, overwrite: bool = True
) -> None:
    from cmp_edge._io import atomic_write

    v = np.asarray(vertices, np.float32)
    t = np.asarray(triangles, np.int32)
    with atomic_write(path, overwrite=overwrite) as h:
        if Path(path).suffix == ".obj":
            h.write("".join(f"v {a} {b} {c}\n" for a, b, c in v).encode())
            h.write("".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in t).encode())
        else:
            h.write(
                f"ply\nformat binary_little_endian 1.0\nelement vertex {len(v)}\n"
                "property float x\nproperty float y\nproperty float z\n"
                f"element face {len(t)}\nproperty list uchar int vertex_indices\n"
                "end_header\n".encode()
            )
            h.write(v.tobytes())
            rows = np.zeros(len(t), dtype=[("n", "u1"), ("i", "<i4", 3)])
            rows["n"] = 3
            rows["i"] = t
            h.write(rows.tobytes())


def _load_audio(path: Any) -> tuple[np.ndarray, int]:
    import soundfile as sf

    from cmp_edge.errors import AudioError

    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"{path}: cannot read audio ({exc}); pass a WAV/FLAC/OGG file") from None
    if x.shape[0] == 0:
        raise AudioError(f"{path}: the audio is empty; pass a recording with speech")
    return np.ascontiguousarray(x.mean(axis=1), np.float32), int(sr)


def _resample(x: Any, sr: int, target: int = 16000) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sr, target)
    return resample_poly(np.asarray(x, np.float32), target // g, sr // g).astype(np.float32)


def install() -> None:
    """Register the stand-ins for missing modules (idempotent)."""
    import cmp_edge

    mods: dict[str, dict[str, Any]] = {
        "cmp_edge.features": {
            "LogMelOptions": _LogMelOptions,
            "OnlineLogMel": _OnlineLogMel,
            "log_mel": lambda x, sr, options=None: ref.features_vectorised(x),
            "normalize": ref.normalize,
            "repeat_pad": ref.repeat_pad,
        },
        "cmp_edge.vad": {"remove_silence": ref.vad_published},
        "cmp_edge.audio": {"load": _load_audio, "resample": _resample},
        "cmp_edge.facemodel": {"FaceModel": _FaceModel},
        "cmp_edge.mesh": {"save_mesh": _save_mesh},
    }
    for name, attrs in mods.items():
        if name in sys.modules or not _missing(name):
            continue
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
        setattr(cmp_edge, name.rsplit(".", 1)[1], mod)
