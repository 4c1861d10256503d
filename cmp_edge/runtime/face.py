"""The result of a reconstruction: parameters, mesh and timings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.atomic import atomic_write
from cmp_edge.errors import OutputError
from cmp_edge.output.mesh import MESH_SUFFIXES, save_mesh
from cmp_edge.output.params import params_bytes

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.audio.quality import InputQuality

__all__ = ["MESH_FORMATS", "SAVE_FORMATS", "Face"]

MESH_FORMATS = MESH_SUFFIXES
SAVE_FORMATS = (*MESH_SUFFIXES, ".npz", ".json")


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
        embedding: (64,) float32 unit-norm voice embedding the parameters were decoded
            from, or None when the bundle does not output it.
        quality: the input-quality report of the recording
            (:class:`~cmp_edge.audio.quality.InputQuality`: levels, DC, clipping,
            bandwidth, channels, voiced fraction, conditioning applied); None
            for faces made by a stream's provisional estimates.
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
    embedding: npt.NDArray[np.float32] | None = None
    quality: InputQuality | None = None
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

    def metadata(self) -> dict[str, Any]:
        """Everything but the parameters and the mesh: source, face model, whitened
        network output, durations (s), timings (ms) and devices (JSON-friendly)."""
        return {
            "source": self.source,
            "face_model_id": self.face_model_id,
            "whitened": [float(x) for x in self.whitened],
            "num_vertices": int(self.vertices.shape[0]),
            "duration_s": round(float(self.duration_s), 4),
            "voiced_s": round(float(self.voiced_s), 4),
            "timings_ms": {k: round(float(v), 4) for k, v in self.timings.items()},
            "devices": dict(self.devices),
            "input_quality": None if self.quality is None else self.quality.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The parameter file's JSON document: ``{"params": {...}, "metadata": {...}}``.

        ``params``: ``scale`` (float), ``shape`` and ``expr`` (lists of floats);
        ``metadata``: :meth:`metadata`. Equal to what ``save("x.json")`` writes.
        """
        return {
            "params": {
                k: (float(v) if np.ndim(v) == 0 else [float(x) for x in np.asarray(v)])
                for k, v in self.params.items()
            },
            "metadata": self.metadata(),
        }

    def params_file(self, path: str | os.PathLike[str]) -> bytes:
        """The bytes of this face's parameter file for ``path`` (.json or .npz).

        The .npz also holds the mesh (``vertices`` (N, 3) float32, ``triangles``
        (F, 3) int32) beside the parameters.

        Raises:
            OutputError: a suffix other than .json or .npz.
        """
        arrays: dict[str, Any] = {k: np.asarray(v) for k, v in self.params.items()}
        if Path(path).suffix.lower() == ".npz":
            arrays["vertices"] = self.vertices
            arrays["triangles"] = self.triangles
        return params_bytes(path, arrays, self.metadata())

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
        """Write the face by suffix; the file appears complete or not at all.

        - ``.ply`` (binary little-endian) / ``.obj``: the mesh.
        - ``.glb``: the mesh as glTF 2.0 binary, in metres (see :mod:`cmp_edge.output.glb`).
        - ``.json`` / ``.npz``: the parameter file (:mod:`cmp_edge.output.params`);
          the .npz adds the mesh.

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
        if suffix in MESH_FORMATS:
            save_mesh(target, self.vertices, self.triangles, overwrite=overwrite, units=self.units)
            return target
        with atomic_write(target, overwrite=overwrite) as handle:
            handle.write(self.params_file(target))
        return target

    def __repr__(self) -> str:
        return (
            f"Face(face_model_id={self.face_model_id!r}, vertices={self.vertices.shape}, "
            f"scale={self.scale:.6g}, voiced_s={self.voiced_s:.2f}, "
            f"total_ms={self.timings.get('total', float('nan')):.2f})"
        )
