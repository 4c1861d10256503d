"""What the API and the page share: one model, the limits, the work pool, and results."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cmp_edge.serve.limits import Limits
from cmp_edge.serve.work import WorkPool

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.face import Face
    from cmp_edge.runtime.reconstructor import Reconstructor

__all__ = ["MESH_MEDIA_TYPES", "Result", "Service"]

MESH_MEDIA_TYPES: Final = {
    "glb": "model/gltf-binary",  # IANA registration of glTF binary
    "ply": "application/ply",
    "obj": "model/obj",
}


@dataclass
class Result:
    """One reconstruction: the face, its input-quality report
    (``InputQuality.to_dict()``), and where the time went (ms)."""

    face: Face
    audio: dict[str, Any] | None
    timings: dict[str, float]


class Service:
    """The shared state of one server.

    Args:
        reconstructor: the model, loaded once and shared by every request
            (``Reconstructor`` is thread-safe).
        limits: what the server accepts (checked).
    """

    def __init__(self, reconstructor: Reconstructor, limits: Limits | None = None) -> None:
        self.rec = reconstructor
        self.limits = (limits or Limits()).check()
        self.pool = WorkPool(self.limits.workers, self.limits.queue)
        self.open_streams = 0

    def warm_up(self) -> float:
        """Run each stage once on synthetic input, so that the first client does not wait
        for lazy imports and first-call set-up (seconds on a busy machine). Returns ms."""
        import numpy as np

        t0 = time.perf_counter()
        tone = (0.1 * np.sin(np.arange(4800) * (2 * np.pi * 220 / 48000))).astype(np.float32)
        stream = self.rec.create_stream()
        stream.accept_waveform(48000, tone)
        self.rec.run_model(np.zeros((self.rec.pad_to, 64), np.float32))
        self.rec.reconstruct(self.rec.unwhiten(np.zeros(self.rec.info.num_params, np.float32)))
        return (time.perf_counter() - t0) * 1e3

    @property
    def model_name(self) -> str:
        """The bundle's file name (never the server's folders)."""
        return self.rec.model_path.name

    def model_info(self) -> dict[str, Any]:
        """The bundle's metadata for ``GET /v1/model`` (file names only, no server paths)."""
        summary = self.rec.info.summary()
        summary["path"] = self.model_name
        if summary.get("face_model_file"):
            summary["face_model_file"] = Path(summary["face_model_file"]).name
        summary["providers"] = list(self.rec.providers)
        summary["reconstruct_device"] = self.rec.reconstruct_device
        summary["num_vertices"] = int(self.rec.face_model.mean.shape[0])
        summary["units"] = self.rec.face_model.units
        return summary

    def reconstruct(self, data: bytes, what: str = "audio") -> Result:
        """Bytes of an audio file -> :class:`Result` (blocking; run it in the pool).

        The audio stage decodes the bytes (:func:`cmp_edge.audio.reader.open_audio`:
        soundfile, else PyAV) within the duration limit; ``timings["decode"]`` is
        the decoding time in ms.

        Raises:
            AudioError, NoSpeechError, AudioTooLongError, UnreadableAudioError: the
            client's audio cannot be used.
        """
        face = self.rec.predict_bytes(data, name=what, max_seconds=self.limits.max_duration_s)
        timings = dict(face.timings)
        timings = {"decode": timings.pop("load", 0.0), **timings}
        return Result(face, self.audio_report(face), timings)

    @staticmethod
    def audio_report(face: Face) -> dict[str, Any] | None:
        """The ``audio`` object of a result: the face's input-quality report
        (:meth:`cmp_edge.audio.quality.InputQuality.to_dict`), None without one."""
        return None if face.quality is None else face.quality.to_dict()

    def payload(self, face: Face, audio: dict[str, Any] | None, timings: dict[str, float]) -> dict:
        """The JSON body of a result: ``params``, ``whitened``, ``timings`` (ms),
        ``duration_s`` and ``voiced_s`` (seconds of audio and of speech kept), ``audio``,
        ``model``, ``face_model_id``, ``num_vertices``, ``units``, ``devices``."""
        summary = face.to_dict()
        meta = summary["metadata"]
        return {
            "params": summary["params"],
            "whitened": meta["whitened"],
            "timings": {k: round(float(v), 3) for k, v in timings.items()},
            "duration_s": meta["duration_s"],
            "voiced_s": meta["voiced_s"],
            "audio": audio,
            "model": self.model_name,
            "face_model_id": face.face_model_id,
            "num_vertices": meta["num_vertices"],
            "units": face.units,
            "devices": meta["devices"],
        }

    @staticmethod
    def mesh_bytes(face: Face, fmt: str) -> bytes:
        """The mesh file of a face: ``glb``, ``ply`` or ``obj`` (as :meth:`Face.save` writes it)."""
        if fmt not in MESH_MEDIA_TYPES:
            raise ValueError(f"unknown mesh format {fmt!r}")
        with tempfile.TemporaryDirectory(prefix="cmp-edge-serve-") as folder:
            path = face.save(Path(folder) / f"face.{fmt}")
            return path.read_bytes()
