"""The result of a reconstruction: parameters, mesh and timings."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.atomic import atomic_write
from cmp_edge.errors import OutputError

__all__ = ["MESH_FORMATS", "SAVE_FORMATS", "Face"]

MESH_FORMATS = (".ply", ".obj", ".glb")
SAVE_FORMATS = (".ply", ".obj", ".glb", ".npz", ".json")


@dataclass
class Face:
    """A face estimated from a voice.

    Attributes:
        params: un-whitened parameters by name, in the bundle's layout order:
            ``"scale"`` (float), ``"shape"`` (Ks,) and ``"expr"`` (Ke,) float32
            coefficients of the face model.
        whitened: (P,) float32 raw network output (P = 51 for the CMP layout).
        vertices: (N, 3) float32 vertex positions in the face model's units (mm
            for the default model), xyz per row.
        triangles: (F, 3) int32 vertex indices (shared with the face model; do not modify).
        face_model_id: id of the face model the mesh was built with.
        timings: milliseconds per stage, e.g. ``load``, ``vad``, ``features``,
            ``model``, ``reconstruct``, ``total``.
        duration_s: seconds of audio given.
        voiced_s: seconds of audio kept by voice activity detection.
        source: the audio file, when known.
        devices: where the stages ran: ``model`` (the first ONNX Runtime provider
            of the session) and ``reconstruct`` ("cpu" or "cuda").
        units: the unit of ``vertices`` (the face model's, "mm" normally).
    """

    params: dict[str, Any]
    whitened: npt.NDArray[np.float32]
    vertices: npt.NDArray[np.float32]
    triangles: npt.NDArray[np.int32]
    face_model_id: str
    timings: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    voiced_s: float = 0.0
    source: str | None = None
    devices: dict[str, str] = field(default_factory=dict)
    units: str = "mm"

    @property
    def scale(self) -> float:
        """The un-whitened global scale."""
        return float(self.params["scale"])

    def params_vector(self) -> npt.NDArray[np.float64]:
        """All un-whitened parameters concatenated in layout order, (P,) float64."""
        return np.concatenate(
            [np.atleast_1d(np.asarray(v, np.float64)) for v in self.params.values()]
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary: parameters, face model, durations and timings (no mesh)."""
        return {
            "source": self.source,
            "face_model_id": self.face_model_id,
            "params": {
                k: (float(v) if np.ndim(v) == 0 else [float(x) for x in np.asarray(v)])
                for k, v in self.params.items()
            },
            "whitened": [float(x) for x in self.whitened],
            "num_vertices": int(self.vertices.shape[0]),
            "duration_s": round(float(self.duration_s), 4),
            "voiced_s": round(float(self.voiced_s), 4),
            "timings_ms": {k: round(float(v), 4) for k, v in self.timings.items()},
            "devices": dict(self.devices),
        }

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
        """Write the face by suffix; the file appears complete or not at all.

        - ``.ply`` (binary little-endian) / ``.obj``: the mesh.
        - ``.glb``: the mesh as glTF 2.0 binary, in metres (see :mod:`cmp_edge.output.glb`).
        - ``.npz``: ``vertices`` (N,3) f32, ``triangles`` (F,3) i32, ``whitened`` (P,),
          one array per parameter group, and ``face_model_id``.
        - ``.json``: :meth:`to_dict` (parameters, no mesh).

        Raises:
            OutputError: unknown suffix, missing/unwritable folder, or the file exists
                and ``overwrite`` is False.
        """
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in SAVE_FORMATS:
            raise OutputError(
                f"{target}: unknown output format {suffix or '(none)'!r}; "
                f"use one of {', '.join(SAVE_FORMATS)}"
            )
        if suffix == ".glb":
            from cmp_edge.output.glb import write_glb

            write_glb(target, self.vertices, self.triangles, overwrite=overwrite, units=self.units)
            return target
        if suffix in MESH_FORMATS:
            from cmp_edge.output.mesh import save_mesh

            save_mesh(target, self.vertices, self.triangles, overwrite=overwrite)
            return target
        if suffix == ".npz":
            buf = io.BytesIO()
            arrays: dict[str, Any] = {
                "vertices": self.vertices,
                "triangles": self.triangles,
                "whitened": self.whitened,
                "face_model_id": np.array(self.face_model_id),
            }
            for k, v in self.params.items():
                arrays[f"param_{k}"] = np.asarray(v, dtype=np.float32)
            np.savez(buf, **arrays)
            data = buf.getvalue()
        else:
            data = (json.dumps(self.to_dict(), indent=2) + "\n").encode()
        with atomic_write(target, overwrite=overwrite) as handle:
            handle.write(data)
        return target

    def __repr__(self) -> str:
        return (
            f"Face(face_model_id={self.face_model_id!r}, vertices={self.vertices.shape}, "
            f"scale={self.scale:.6g}, voiced_s={self.voiced_s:.2f}, "
            f"total_ms={self.timings.get('total', float('nan')):.2f})"
        )
