"""The cmp-edge runtime: speech samples or files in, :class:`~cmp_edge.runtime.face.Face` out.

One :class:`Reconstructor` holds the shared, read-only parts (the ONNX Runtime
session, the bundle metadata and the face model) and is safe to call from
several threads at once; :meth:`Reconstructor.create_stream` makes cheap
per-utterance :class:`~cmp_edge.runtime.stream.Stream` objects.

Pipeline (spec sections 1-3): resample to 16 kHz -> WebRTC VAD (published call
sequence) -> CMP log-mel -> per-utterance normalisation -> repeat-pad to the
bundle's ``pad_to`` -> encoder + decoder (ONNX) -> un-whitening -> 3DMM
reconstruction.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.decode import load, resample
from cmp_edge.audio.signal import SAMPLE_RATE, as_mono_float32
from cmp_edge.audio.vad import remove_silence
from cmp_edge.errors import AudioError, CmpEdgeError, FaceModelError, ModelError, NoSpeechError
from cmp_edge.facemodel import FaceModel
from cmp_edge.features.logmel import log_mel
from cmp_edge.features.normalize import normalize, repeat_pad
from cmp_edge.model.bundle import BundleInfo, read_bundle, resolve_model_path
from cmp_edge.model.session import open_session, resolve_providers
from cmp_edge.runtime.batch import iter_files
from cmp_edge.runtime.face import Face
from cmp_edge.runtime.stream import Stream

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.facemodel import FaceModel
__all__ = ["Reconstructor"]


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


class Reconstructor:
    """Voice -> 3D face with an ONNX bundle; thread-safe for concurrent predictions.

    Args:
        model: an ONNX bundle file or a folder holding one; None uses the shipped
            default (``cmp_edge/models/default.onnx``, trained on synthetic voices).
        face_model: a :class:`~cmp_edge.facemodel.FaceModel`, a face-model file, or
            None: the file named in the bundle metadata, else the built-in default
            when the bundle was made for it.
        providers: ONNX Runtime execution providers, e.g.
            ``["CUDAExecutionProvider", "CPUExecutionProvider"]``; None -> CPU only.
            The providers actually used are in :attr:`providers`. With CUDA asked
            for and a GPU present, the 3DMM reconstruction runs on it as well when
            the extension has CUDA kernels; :attr:`reconstruct_device` ("cpu" or
            "cuda") says where it runs.
        threads: intra-op threads of ONNX Runtime (None: its default, all cores).
        min_voiced_s: shortest voiced speech accepted, in seconds; less raises
            :class:`~cmp_edge.errors.NoSpeechError` rather than guessing a face.
        vad: remove silence with the voice activity detector (spec section 2);
            False uses all of the audio (for recordings the detector rejects).

    Raises:
        ModelError: missing/invalid bundle, or no CUDA device when CUDA is requested.
        FaceModelError: the face model cannot be loaded or does not match the bundle.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        face_model: FaceModel | str | os.PathLike[str] | None = None,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
        *,
        min_voiced_s: float = 0.5,
        vad: bool = True,
    ) -> None:
        t0 = time.perf_counter()
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ModelError(f"threads: {threads!r} is invalid; pass a positive integer")
        path = resolve_model_path(model)
        wanted, self.reconstruct_device = resolve_providers(providers)
        self._session = open_session(path, wanted, threads)
        self.info: BundleInfo = read_bundle(path, self._session)
        self.providers: tuple[str, ...] = tuple(self._session.get_providers())
        self.face_model: FaceModel = self._resolve_face_model(face_model)
        self.min_voiced_s = float(min_voiced_s)
        self.vad = bool(vad)
        self._threads = threads
        self._mean = self.info.param_mean
        self._std = self.info.param_std
        self._slices = self.info.slices()
        self.load_ms = _ms(t0)

    # ------------------------------------------------------------------ set-up
    def _resolve_face_model(
        self, face_model: FaceModel | str | os.PathLike[str] | None
    ) -> FaceModel:
        info = self.info
        where: str
        if isinstance(face_model, FaceModel):
            fm, where = face_model, "face model"
        elif face_model is not None:
            where = str(face_model)
            fm = FaceModel.load(face_model)
        elif info.face_model_file is not None:
            where = str(info.face_model_file)
            if not info.face_model_file.is_file():
                raise FaceModelError(
                    f"{where}: the face model named by {info.path.name} is missing; "
                    "keep it beside the .onnx file or pass --face-model"
                )
            fm = FaceModel.load(info.face_model_file)
        else:
            default = FaceModel.default()
            if info.face_model_id != default.id:
                raise FaceModelError(
                    f"{info.path}: the model needs face model {info.face_model_id!r}; "
                    "pass its file with --face-model (face_model=...)"
                )
            fm, where = default, "default face model"
        fm.check_matches(
            info.face_model_id,
            info.face_model_dims,
            where=where,
            needed_by="model",
            fix=f"pass the face model {info.path.name} was exported with",
        )
        return fm

    # ------------------------------------------------------------------ properties
    @property
    def model_path(self) -> Path:
        """The ONNX file in use."""
        return self.info.path

    @property
    def face_model_id(self) -> str:
        """Id of the face model in use (equal to the bundle's)."""
        return self.info.face_model_id

    @property
    def pad_to(self) -> int:
        """Frames the feature sequence is repeat-padded to (1000 for CMP)."""
        return self.info.pad_to

    def __repr__(self) -> str:
        return (
            f"Reconstructor(model={str(self.model_path)!r}, kind={self.info.kind!r}, "
            f"face_model={self.face_model_id!r}, providers={list(self.providers)}, "
            f"reconstruct_device={self.reconstruct_device!r})"
        )

    # ------------------------------------------------------------------ stages
    def _voiced(self, samples16k: npt.NDArray[np.float32], what: str) -> npt.NDArray[np.float32]:
        if not self.vad:
            voiced = samples16k
        else:
            try:
                voiced = np.asarray(remove_silence(samples16k), dtype=np.float32)
            except NoSpeechError:
                voiced = np.zeros(0, np.float32)
        self.check_voiced(voiced.shape[0], what)
        return voiced

    def check_voiced(self, num_samples: int, what: str) -> None:
        seconds = num_samples / SAMPLE_RATE
        if num_samples == 0:
            raise NoSpeechError(
                f"{what}: no voiced speech found; record speech (a few seconds of one voice), "
                "or use all of the audio with --no-vad (vad=False)"
            )
        if seconds < self.min_voiced_s:
            raise NoSpeechError(
                f"{what}: only {seconds:.2f} s of voiced speech (need {self.min_voiced_s:.2f} s); "
                "record a longer sample or lower min_voiced_s (--min-speech)"
            )

    def run_model(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Run the network on normalised, padded features.

        Args:
            features: (T, 64) or (B, T, 64) float32, frames first (as cmp_features returns).

        Returns:
            (P,) or (B, P) float32 whitened parameters.
        """
        x = np.asarray(features, dtype=np.float32)
        single = x.ndim == 2
        if single:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != 64:
            raise ValueError(f"features must be (T, 64) or (B, T, 64), got {x.shape}")
        inp = np.ascontiguousarray(x.transpose(0, 2, 1))
        (out,) = self._session.run(["params"], {"features": inp})
        out = np.asarray(out, dtype=np.float32)
        return out[0] if single else out

    def unwhiten(self, whitened: npt.NDArray[np.float32]) -> dict[str, Any]:
        """Whitened (P,) -> parameters by name (``scale`` float, others float32 arrays)."""
        values = whitened.astype(np.float64) * self._std + self._mean
        out: dict[str, Any] = {}
        for name, sl in self._slices.items():
            out[name] = float(values[sl][0]) if name == "scale" else values[sl].astype(np.float32)
        return out

    def reconstruct(self, params: dict[str, Any]) -> npt.NDArray[np.float32]:
        """(N, 3) float32 vertices for un-whitened parameters (face-model units)."""
        fm = self.face_model
        ks, ke = fm.shape_basis.shape[1], fm.expr_basis.shape[1]
        shape = np.zeros(ks, np.float32)
        shape[: params["shape"].shape[0]] = params["shape"]
        expr = np.zeros(ke, np.float32)
        if "expr" in params:
            expr[: params["expr"].shape[0]] = params["expr"]
        verts = fm.reconstruct(
            shape,
            expr,
            scale=float(params["scale"]),
            device=self.reconstruct_device,
            threads=self._threads,
        )
        return np.asarray(verts, dtype=np.float32)

    def make_face(
        self,
        whitened: npt.NDArray[np.float32],
        timings: dict[str, float],
        duration_s: float,
        voiced_s: float,
        source: str | None,
    ) -> Face:
        t0 = time.perf_counter()
        params = self.unwhiten(whitened)
        vertices = self.reconstruct(params)
        timings["reconstruct"] = _ms(t0)
        return Face(
            params=params,
            whitened=whitened,
            vertices=vertices,
            triangles=self.face_model.triangles,
            face_model_id=self.face_model.id,
            timings=timings,
            duration_s=duration_s,
            voiced_s=voiced_s,
            source=source,
            devices={"model": self.providers[0], "reconstruct": self.reconstruct_device},
            units=self.face_model.units,
        )

    def features_from_frames(self, logmel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Log-mel (T, 64) of the voiced audio -> normalised, repeat-padded network input."""
        return np.asarray(repeat_pad(normalize(logmel), self.pad_to), dtype=np.float32)

    # ------------------------------------------------------------------ public API
    def predict(self, samples: Any, sample_rate: int, *, source: str | None = None) -> Face:
        """Estimate a face from speech samples.

        Args:
            samples: (n,) or (n, channels) float in [-1, 1) or int16.
            sample_rate: in Hz; resampled to 16 kHz when different.
            source: a name for messages and the result (e.g. the file name).

        Returns:
            The :class:`Face`, with ``timings`` in ms for ``resample``, ``vad``,
            ``features``, ``model``, ``reconstruct`` and ``total``.

        Raises:
            AudioError: empty or invalid samples.
            NoSpeechError: less voiced speech than ``min_voiced_s``.
        """
        t_start = time.perf_counter()
        what = source or "samples"
        x = as_mono_float32(samples, sample_rate, what)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if sample_rate != SAMPLE_RATE:
            x = np.asarray(resample(x, int(sample_rate), SAMPLE_RATE), dtype=np.float32)
        timings["resample"] = _ms(t0)
        t0 = time.perf_counter()
        voiced = self._voiced(x, what)
        timings["vad"] = _ms(t0)
        t0 = time.perf_counter()
        feats = self.features_from_frames(log_mel(voiced, SAMPLE_RATE))
        timings["features"] = _ms(t0)
        t0 = time.perf_counter()
        whitened = self.run_model(feats)
        timings["model"] = _ms(t0)
        face = self.make_face(
            whitened, timings, x.shape[0] / SAMPLE_RATE, voiced.shape[0] / SAMPLE_RATE, source
        )
        timings["total"] = _ms(t_start)
        return face

    def predict_file(self, path: str | os.PathLike[str]) -> Face:
        """Estimate a face from an audio file (any format soundfile reads: WAV, FLAC, OGG...).

        ``timings`` additionally holds ``load`` and ``total`` includes it.

        Raises:
            AudioError: the file is missing, unreadable or empty.
            NoSpeechError: no voiced speech.
        """
        t0 = time.perf_counter()
        p = Path(path)
        if not p.is_file():
            raise AudioError(f"{p}: audio file not found; check the path")
        samples, rate = load(p)
        load_ms = _ms(t0)
        face = self.predict(samples, rate, source=str(p))
        face.timings = {"load": load_ms, **face.timings}
        face.timings["total"] += load_ms
        return face

    def iter_batch(
        self,
        paths: Iterable[str | os.PathLike[str]],
        workers: int | None = None,
        *,
        handle: Callable[[Face], Any] | None = None,
    ) -> Iterator[tuple[int, Path, Face | CmpEdgeError]]:
        """Predict many files with a thread pool, yielding results as they finish.

        Args:
            paths: audio files.
            workers: concurrent files (None: the number of cores).
            handle: called in the worker with each finished face (e.g. to save it);
                a :class:`CmpEdgeError` it raises is reported as that file's error.

        Yields:
            ``(index, path, Face or the CmpEdgeError raised for it)`` in completion order.
            Closing the iterator (or Ctrl-C) cancels files not yet started.
        """
        return iter_files(self.predict_file, paths, workers, handle=handle)

    def predict_batch(
        self,
        paths: Iterable[str | os.PathLike[str]],
        workers: int | None = None,
        *,
        errors: str = "raise",
    ) -> list[Face | CmpEdgeError]:
        """Predict many files concurrently; results in input order.

        Args:
            errors: "raise" (the first failing file's error is raised) or "return"
                (its :class:`CmpEdgeError` takes its place in the list).
        """
        if errors not in ("raise", "return"):
            raise ValueError(f"errors must be 'raise' or 'return', not {errors!r}")
        items = list(paths)
        results: list[Face | CmpEdgeError | None] = [None] * len(items)
        for index, _path, result in self.iter_batch(items, workers):
            if isinstance(result, CmpEdgeError) and errors == "raise":
                raise result
            results[index] = result
        return [r for r in results if r is not None]

    def create_stream(self, **kwargs: Any) -> Stream:
        """A new streaming session; see :class:`cmp_edge.runtime.stream.Stream` for options."""
        return Stream(self, **kwargs)
