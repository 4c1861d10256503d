"""The cmp-edge runtime: speech samples or files in, :class:`~cmp_edge.runtime.face.Face` out.

One :class:`Reconstructor` holds the shared, read-only parts (the ONNX Runtime
session, the bundle metadata and the face model) and is safe to call from
several threads at once; :meth:`Reconstructor.create_stream` makes cheap
per-utterance :class:`~cmp_edge.runtime.stream.Stream` objects.

Pipeline (spec sections 1-3): resample to 16 kHz -> WebRTC VAD (published call
sequence) -> CMP log-mel -> per-utterance normalisation -> repeat-pad to the
bundle's ``pad_to`` -> encoder + decoder (ONNX) -> un-whitening -> 3DMM
reconstruction. Everything up to the log-mel runs block by block
(:mod:`cmp_edge.runtime.frontend`), with the channel policy, the input-quality
report and the silence guards (docs/audio.md).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cmp_edge._native import resolve_threads
from cmp_edge._safe.names import printable
from cmp_edge._safe.numbers import seconds
from cmp_edge.audio.channels import parse_channel
from cmp_edge.audio.reader import max_duration
from cmp_edge.audio.signal import SAMPLE_RATE, as_frames
from cmp_edge.errors import AudioError, CmpEdgeError, ModelError, NoSpeechError
from cmp_edge.facemodel import FaceModel
from cmp_edge.features.normalize import normalize, repeat_pad
from cmp_edge.model.bundle import BundleInfo, read_bundle, resolve_model_path
from cmp_edge.model.layout import unwhiten
from cmp_edge.model.session import open_session, providers_for, resolve_providers
from cmp_edge.runtime.batch import iter_files, worker_count
from cmp_edge.runtime.face import Face
from cmp_edge.runtime.face_model import resolve_face_model
from cmp_edge.runtime.frontend import (
    FrontEnd,
    Source,
    analyse,
    array_source,
    bytes_source,
    file_source,
    parse_condition,
)
from cmp_edge.runtime.quality import warn_quality
from cmp_edge.runtime.stream import Stream
from cmp_edge.runtime.warmup import warm_up

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.audio.quality import InputQuality
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
            ``["CUDAExecutionProvider", "CPUExecutionProvider"]``; None -> from
            ``device``. The providers actually used are in :attr:`providers`. With CUDA
            asked for and a GPU present, the 3DMM reconstruction runs on it as well when
            the extension has CUDA kernels; :attr:`reconstruct_device` ("cpu" or
            "cuda") says where it runs.
        threads: CPU threads of one prediction: ONNX Runtime's intra-op pool and the
            3DMM reconstruction (None: all available cores; never more than those).
        device: "cpu" (default) or "cuda" (CLI ``--device``): shorthand for the providers.
        min_speech_s: shortest voiced speech accepted, in seconds (CLI
            ``--min-speech``); less raises :class:`~cmp_edge.errors.NoSpeechError`
            rather than guessing a face.
        vad: remove silence with the voice activity detector (spec section 2);
            False (CLI ``--no-vad``) uses all of the audio (for recordings the detector
            rejects).
        channel: which channel(s) of multi-channel audio to use: "auto" (the mean,
            unless the channels cancel, then the loudest channel, with a warning),
            "mix" (always the mean, the published downmix), "best" (the loudest)
            or an index (0 = left); see :mod:`cmp_edge.audio.channels`.
        condition: conditioning before the VAD, off by default: "dc" (remove the
            DC offset), "level" (peak to -6 dBFS), "all", or a sequence of steps.
        max_duration_s: longest audio accepted, in seconds (None: the limit in
            force, :attr:`cmp_edge.limits.Limits.max_audio_seconds`); longer audio
            raises :class:`~cmp_edge.errors.AudioError` as soon as decoding passes it
            (a header that declares more is refused before decoding).
        prepare: do every stage's one-time work now (pack the face model's basis,
            load the VAD library, plan the log-mel, run the network once on zeros),
            so that the first prediction costs what later ones do; the time is part
            of :attr:`load_ms`. False defers it to the first prediction.
        min_voiced_s: former name of ``min_speech_s`` (deprecated).

    Every prediction measures the input (:class:`~cmp_edge.audio.quality.InputQuality`,
    in :attr:`Face.quality`) and warns (``warnings.warn``, one line) when the
    recording lies outside the conditions the model was trained on.

    Raises:
        AudioError: an invalid ``channel`` or ``condition``.
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
        device: str | None = None,
        min_speech_s: float = 0.5,
        vad: bool = True,
        channel: str | int = "auto",
        condition: str | Sequence[str] | bool | None = None,
        max_duration_s: float | None = None,
        prepare: bool = True,
        min_voiced_s: float | None = None,
    ) -> None:
        t0 = time.perf_counter()
        if min_voiced_s is not None:
            warnings.warn(
                "Reconstructor(min_voiced_s=...) is deprecated; use min_speech_s",
                DeprecationWarning,
                stacklevel=2,
            )
            min_speech_s = min_voiced_s
        self.threads: int = resolve_threads(threads)
        self.min_speech_s: float = seconds(min_speech_s, "min_speech_s", AudioError)
        self.max_duration_s: float = max_duration(max_duration_s)
        path = resolve_model_path(model)
        wanted, self.reconstruct_device = resolve_providers(providers_for(device, providers))
        self._session = open_session(path, wanted, self.threads)
        self.info: BundleInfo = read_bundle(path, self._session)
        self.providers: tuple[str, ...] = tuple(self._session.get_providers())
        self.face_model: FaceModel = resolve_face_model(self.info, face_model)
        self.vad = bool(vad)
        self.frontend = FrontEnd(
            vad=self.vad,
            channel=parse_channel(channel),
            condition=parse_condition(condition),
            max_seconds=self.max_duration_s,
        )
        self._local = threading.local()  # per-thread reconstruction threads (batches)
        self._mean = self.info.param_mean
        self._std = self.info.param_std
        self._embedding_output = ["embedding"] if "embedding" in self.info.outputs else []
        if prepare:
            warm_up(self)
        self.load_ms = _ms(t0)

    # ------------------------------------------------------------------ set-up

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
    def check_voiced(self, num_samples: int, what: str, *, cancelled: bool = False) -> None:
        """Raise :class:`NoSpeechError` when fewer than ``min_speech_s`` seconds are voiced."""
        seconds = num_samples / SAMPLE_RATE
        if num_samples == 0:
            hint = (
                "the channels cancel when averaged; choose one with channel=0"
                if cancelled
                else "record speech (a few seconds of one voice), or use all of the audio "
                "with vad=False"
            )
            raise NoSpeechError(f"{what}: no voiced speech found; {hint}")
        if seconds < self.min_speech_s:
            raise NoSpeechError(
                f"{what}: only {seconds:.2f} s of voiced speech (need {self.min_speech_s:.2f} s); "
                "record a longer sample or lower min_speech_s"
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
        return unwhiten(whitened, self._mean, self._std, self.info.param_layout)

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
            threads=getattr(self._local, "threads", self.threads),
        )
        return np.asarray(verts, dtype=np.float32)

    def make_face(
        self,
        whitened: npt.NDArray[np.float32],
        timings: dict[str, float],
        duration_s: float,
        voiced_s: float,
        source: str | None,
        quality: InputQuality | None = None,
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
            quality=quality,
            units=self.face_model.units,
        )

    def features_from_frames(self, logmel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Log-mel (T, 64) of the voiced audio -> normalised, repeat-padded network input."""
        return np.asarray(repeat_pad(normalize(logmel), self.pad_to), dtype=np.float32)

    # ------------------------------------------------------------------ public API
    def predict(self, samples: Any, sample_rate: int, *, source: str | None = None) -> Face:
        """Estimate a face from speech samples.

        Args:
            samples: (n,), (n, channels) or (channels, n) float in [-1, 1) or int16
                (see :func:`cmp_edge.audio.signal.as_frames`).
            sample_rate: in Hz; resampled to 16 kHz when different.
            source: a name for messages and the result (e.g. the file name).

        Returns:
            The :class:`Face`, with ``timings`` in ms for ``resample``, ``vad``,
            ``features``, ``model``, ``reconstruct`` and ``total``, and the
            input-quality report in ``quality``.

        Raises:
            AudioError: empty or invalid samples, or a shape with no clear channel axis.
            NoSpeechError: silence, or less voiced speech than ``min_speech_s``.
        """
        what = printable(source) if source else "samples"
        frames = as_frames(samples, sample_rate, what)
        return self._predict_source(array_source(frames, int(sample_rate)), what, source)

    def predict_file(self, path: str | os.PathLike[str]) -> Face:
        """Estimate a face from an audio file: anything soundfile or FFmpeg (PyAV) decodes
        (WAV, FLAC, Ogg, MP3, M4A/AAC, Opus, WebM, AMR, video files...), any file name.

        The file is decoded, resampled and analysed block by block: memory holds the
        log-mel frames of the voiced audio, not the samples. ``timings`` additionally
        holds ``load`` (decoding) and ``total`` includes it.

        Raises:
            AudioError: the file is missing, unreadable or empty.
            NoSpeechError: silence or no voiced speech.
        """
        p = Path(path)
        name = printable(str(p))
        if not p.is_file():
            raise AudioError(f"{name}: audio file not found; check the path")
        return self._predict_source(file_source(p, self.max_duration_s), name, str(p))

    def predict_bytes(
        self, data: bytes, *, name: str = "upload", max_seconds: float | None = None
    ) -> Face:
        """Estimate a face from a whole audio file held in memory (e.g. an HTTP upload:
        WebM/Opus without a duration, fragmented MP4/AAC, WAV...).

        Args:
            data: the file's bytes (the format is found from the bytes).
            name: the name used in messages and as the face's ``source``.
            max_seconds: a tighter duration limit for this call, in seconds (None:
                ``max_duration_s``); decoding stops there.

        Raises:
            AudioTooLongError: audio longer than the limit.
            UnreadableAudioError: not a format libsndfile or FFmpeg reads.
            AudioError: empty or otherwise unusable data.
            NoSpeechError: silence or no voiced speech.
        """
        cap = self.max_duration_s if max_seconds is None else min(max_seconds, self.max_duration_s)
        return self._predict_source(bytes_source(bytes(data), name, cap), name, name)

    def _predict_source(self, source: Source, what: str, label: str | None) -> Face:
        t_start = time.perf_counter()
        result = analyse(source, self.frontend, what)
        q = result.quality
        self.check_voiced(result.voiced_samples, what, cancelled=q.mix_cancellation_db >= 20)
        warn_quality(q, what)
        timings = dict(result.timings)
        if timings.get("load", 0.0) < 0.05 and label is None:
            timings.pop("load", None)
        t0 = time.perf_counter()
        feats = self.features_from_frames(result.frames)
        timings["features"] = timings.get("features", 0.0) + _ms(t0)
        t0 = time.perf_counter()
        whitened, embedding = self._run(feats, ["params", *self._embedding_output])
        timings["model"] = _ms(t0)
        face = self.make_face(
            whitened,
            timings,
            result.samples16k / SAMPLE_RATE,
            result.voiced_samples / SAMPLE_RATE,
            label,
            quality=q,
        )
        face.embedding = embedding
        timings["total"] = _ms(t_start)
        return face

    def network_input(
        self, samples: Any, sample_rate: int, source: str | None = None
    ) -> tuple[npt.NDArray[np.float32], float, float]:
        """Stages 1-2: samples -> the network input (channels, resample, VAD, log-mel,
        normalisation, repeat-padding), as :meth:`predict` computes it.

        Args:
            samples, sample_rate, source: as for :meth:`predict`.

        Returns:
            ((T, 64) float32 features with T >= ``pad_to``, seconds of audio, voiced seconds).

        Raises:
            AudioError: empty or invalid samples.
            NoSpeechError: silence, or less voiced speech than ``min_speech_s``.
        """
        what = printable(source) if source else "samples"
        frames = as_frames(samples, sample_rate, what)
        result = analyse(array_source(frames, int(sample_rate)), self.frontend, what)
        self.check_voiced(
            result.voiced_samples, what, cancelled=result.quality.mix_cancellation_db >= 20
        )
        feats = self.features_from_frames(result.frames)
        return feats, result.samples16k / SAMPLE_RATE, result.voiced_samples / SAMPLE_RATE

    @property
    def has_embedding(self) -> bool:
        """Whether the bundle outputs the voice embedding (bundles exported since 0.2)."""
        return bool(self._embedding_output)

    def embed(self, samples: Any, sample_rate: int, *, source: str | None = None) -> np.ndarray:
        """The speaker's voice embedding: the encoder output the face is decoded from.

        Args:
            samples, sample_rate, source: as for :meth:`predict`.

        Returns:
            (64,) float32 with unit L2 norm (cosine similarity = dot product), useful for
            speaker similarity and for caching.

        Raises:
            ModelError: the bundle has no ``embedding`` output (exported before it was
                added); re-export it with ``python -m export``.
            AudioError, NoSpeechError: as for :meth:`predict`.
        """
        if not self._embedding_output:
            raise ModelError(
                f"{self.model_path}: this bundle has no 'embedding' output; "
                "re-export it with `python -m export` to get voice embeddings"
            )
        feats, _, _ = self.network_input(samples, sample_rate, source)
        _, embedding = self._run(feats, ["params", "embedding"])
        assert embedding is not None
        return embedding

    def _run(
        self, features: npt.NDArray[np.float32], names: list[str]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
        """One session run on (T, 64) features: (params (P,), embedding (64,) or None)."""
        inp = np.ascontiguousarray(np.asarray(features, np.float32).T[None])
        outs = self._session.run(names, {"features": inp})
        params = np.asarray(outs[0], dtype=np.float32)[0]
        embedding = np.asarray(outs[1], dtype=np.float32)[0] if len(outs) > 1 else None
        return params, embedding

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
        items = [Path(p) for p in paths]
        n_workers = worker_count(workers, len(items))
        # Each worker reconstructs with its share of the cores, not all of them.
        share = max(1, self.threads // n_workers)

        def predict_file(path: Path) -> Face:
            self._local.threads = share
            return self.predict_file(path)

        return iter_files(predict_file, items, n_workers, handle=handle)

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
