"""Incremental decoding of files and in-memory bytes: soundfile first, PyAV (FFmpeg) otherwise.

:func:`open_audio` returns an :class:`AudioSource` whose :meth:`AudioSource.blocks`
yields (k, channels) float32 blocks in [-1, 1) at the file's own rate, never more
than a fixed number of frames at once, so memory does not grow with the file.
libsndfile (through soundfile) reads WAV (PCM, float, mu-law, A-law; RIFF, RF64,
W64), FLAC, Ogg Vorbis/Opus, MP3, AIFF, AU and CAF exactly; everything else FFmpeg
decodes (AAC in MP4/M4A/MOV, Opus or Vorbis in WebM/Matroska, AMR, WMA, the
audio track of video files, ...) goes through PyAV. Files are opened by Python
(any name the file system allows, including non-UTF-8 bytes) and handed over as
file objects.

Every problem raises :class:`cmp_edge.errors.AudioError` with one line naming the
input, what is wrong, and what to do.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.limits import get_limits
from cmp_edge._safe.names import printable
from cmp_edge._safe.numbers import seconds as finite_seconds
from cmp_edge.audio.channels import downmix
from cmp_edge.audio.headers import check_file
from cmp_edge.audio.signal import MAX_CHANNELS, check_rate
from cmp_edge.errors import AudioError, AudioTooLongError, UnreadableAudioError

__all__ = ["BLOCK_FRAMES", "AudioSource", "load_bytes", "open_audio", "read_all"]

BLOCK_FRAMES: Final = 1 << 16
"""Most frames one block from :meth:`AudioSource.blocks` holds (about 4 s at 16 kHz)."""
_FULL_SCALE_MAX: Final = np.float32(32767.0 / 32768.0)
GARBAGE_PEAK: Final = 1000.0
"""Float samples beyond this magnitude (+60 dBFS) are not audio but misread bytes
(e.g. integer PCM labelled as float gives values up to 1e38): the input is refused."""


def max_duration(seconds: float | None) -> float:
    """The duration cap in seconds: ``seconds``, or the limit in force when None
    (:attr:`cmp_edge.limits.Limits.max_audio_seconds`).

    Raises:
        AudioError: ``seconds`` is not a finite number > 0.
    """
    if seconds is None:
        return float(get_limits().max_audio_seconds)
    return finite_seconds(seconds, "max_duration_s", AudioError, positive=True)


def too_long(where: str, seconds: float, cap: float) -> AudioTooLongError:
    """The error for audio longer than the duration cap ``cap`` (seconds)."""
    return AudioTooLongError(
        f"{where}: {seconds:.1f} s of audio is longer than the {cap:g} s limit; cut the "
        "recording, or raise the limit with max_duration_s=..."
    )


class AudioSource:
    """An opened audio input. Use as a context manager; iterate :meth:`blocks` once.

    Attributes:
        name: the input's name for messages (printable even for non-UTF-8 file names).
        sample_rate: Hz, the stream's own rate.
        channels: number of channels (1..64).
        backend: "soundfile" or "ffmpeg".
        codec: the codec or subtype (e.g. "PCM_16", "aac", "opus").
        frames: frames the header declares (None when unknown, e.g. streamed
            WebM); a hint for pre-allocation, never trusted beyond that.
        float_overshoot: largest magnitude above full scale seen in a float file
            (0 when none); such samples are clipped to [-1, 1).
    """

    def __init__(self, handle: IO[bytes], name: str, max_seconds: float | None = None) -> None:
        self._handle = handle
        self.name = name
        self.max_seconds = max_duration(max_seconds)
        self.float_overshoot = 0.0
        self._sf: Any = None
        self._av: Any = None
        self._av_stream: Any = None
        self.backend = ""
        self.codec = ""
        self.sample_rate = 0
        self.channels = 0
        self.frames: int | None = None
        try:
            self._open()
        except BaseException:
            handle.close()
            raise

    # ------------------------------------------------------------------ opening
    def _open(self) -> None:
        import soundfile as sf

        try:
            self._sf = sf.SoundFile(self._handle)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            self._sf = None
        if self._sf is not None:
            self.backend, self.codec = "soundfile", str(self._sf.subtype)
            self.sample_rate, self.channels = int(self._sf.samplerate), int(self._sf.channels)
            declared = int(self._sf.frames)
            self.frames = declared if 0 < declared < (1 << 40) else None
        else:
            self._handle.seek(0)
            self._open_ffmpeg()
        check_rate(self.sample_rate, self.name)
        if self.frames is not None and self.frames > self.max_seconds * self.sample_rate:
            raise too_long(self.name, self.frames / self.sample_rate, self.max_seconds)
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise AudioError(
                f"{self.name}: {self.channels} channels is not a plausible recording "
                f"(1..{MAX_CHANNELS}); the header is damaged, re-export the file"
            )

    def _open_ffmpeg(self) -> None:
        try:
            import av
        except ImportError:  # pragma: no cover - av is a declared dependency
            raise AudioError(
                f"{self.name}: not a format libsndfile reads, and PyAV (FFmpeg) is not "
                "installed; pip install av, or convert the file to WAV or FLAC"
            ) from None
        try:
            container = av.open(self._handle, mode="r")
        except (av.FFmpegError, ValueError, OSError, UnicodeDecodeError) as exc:
            raise UnreadableAudioError(
                f"{self.name}: not a readable audio file ({_reason(exc)}); pass a recording "
                "in a common audio or video format (WAV, FLAC, MP3, M4A, Opus, WebM, MP4, ...)"
            ) from None
        if not container.streams.audio:
            container.close()
            kind = "a video without a sound track" if container.streams.video else "no audio"
            raise UnreadableAudioError(
                f"{self.name}: holds {kind}; pass a file with recorded speech"
            )
        self._av = container
        self._av_stream = container.streams.audio[0]
        ctx = self._av_stream.codec_context
        self.backend, self.codec = "ffmpeg", str(ctx.name)
        self.sample_rate = int(ctx.sample_rate or self._av_stream.rate or 0)
        self.channels = int(ctx.channels or 0)

    # ------------------------------------------------------------------ reading
    def blocks(self) -> Iterator[npt.NDArray[np.float32]]:
        """Yield (k, channels) float32 blocks in [-1, 1), k <= :data:`BLOCK_FRAMES`.

        Raises:
            AudioError: decoding fails part-way, NaN/Inf samples, or the stream
                changes its number of channels.
        """
        source = self._sf_blocks() if self._sf is not None else self._av_blocks()
        seen = 0
        for block in source:
            if block.shape[0] == 0:
                continue
            if not np.isfinite(block).all():
                bad = seen + int(np.argmin(np.isfinite(block).all(axis=1)))
                raise AudioError(
                    f"{self.name}: contains NaN or Inf samples (first at sample {bad}); "
                    "repair the file"
                )
            top = float(np.max(np.abs(block)))
            if top > GARBAGE_PEAK:
                raise AudioError(
                    f"{self.name}: sample values reach {top:.3g}, far beyond full scale (1.0); "
                    "the bytes are not float audio (e.g. 16-bit PCM labelled as float), "
                    "re-export the file"
                )
            if top > 1.0:
                self.float_overshoot = max(self.float_overshoot, top)
            if top >= _FULL_SCALE_MAX:
                np.clip(block, -1.0, _FULL_SCALE_MAX, out=block)
            seen += block.shape[0]
            if seen > self.max_seconds * self.sample_rate:
                raise too_long(self.name, seen / self.sample_rate, self.max_seconds)
            yield block

    def _sf_blocks(self) -> Iterator[npt.NDArray[np.float32]]:
        import soundfile as sf

        done = 0
        while True:
            try:
                block = self._sf.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise AudioError(
                    f"{self.name}: decoding failed after {done} samples ({_reason(exc)}); "
                    "the file is damaged"
                ) from None
            if block.shape[0] == 0:
                return
            done += block.shape[0]
            yield np.ascontiguousarray(block, dtype=np.float32)

    def _av_blocks(self) -> Iterator[npt.NDArray[np.float32]]:
        import av

        stream = self._av_stream
        converter = av.AudioResampler(format="fltp", layout=None, rate=None)
        done = 0
        try:
            for packet in self._av.demux(stream):
                for frame in packet.decode():
                    for out in converter.resample(frame):
                        block = self._planar(out.to_ndarray())
                        done += block.shape[0]
                        yield block
            for out in converter.resample(None):
                yield self._planar(out.to_ndarray())
        except av.FFmpegError as exc:
            if done == 0:
                raise AudioError(
                    f"{self.name}: no audio could be decoded ({_reason(exc)}); the file is "
                    "damaged or not audio"
                ) from None
            raise AudioError(
                f"{self.name}: decoding failed after {done} samples ({_reason(exc)}); "
                "the file is damaged"
            ) from None

    def _planar(self, planes: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        if planes.ndim != 2 or planes.shape[0] != self.channels:
            raise AudioError(
                f"{self.name}: the sound track changes from {self.channels} to "
                f"{planes.shape[0] if planes.ndim == 2 else '?'} channels mid-stream; "
                "re-export it with a fixed channel layout"
            )
        return np.ascontiguousarray(planes.T, dtype=np.float32)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Release the decoder and the file."""
        try:
            if self._sf is not None:
                self._sf.close()
            if self._av is not None:
                self._av.close()
        finally:
            self._handle.close()

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"AudioSource({self.name!r}, backend={self.backend!r}, codec={self.codec!r}, "
            f"sample_rate={self.sample_rate}, channels={self.channels})"
        )


def _reason(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    text = " ".join(str(strerror or exc).split()) or type(exc).__name__
    text = text.split(": ", 1)[-1] if text.startswith("[Errno") else text
    return printable(text.rstrip(".")[:160])


def open_audio(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    name: str | None = None,
    max_seconds: float | None = None,
) -> AudioSource:
    """Open a file (any name) or in-memory bytes for incremental decoding.

    Args:
        source: a path, or the bytes of a whole file (e.g. a browser upload:
            WebM/Opus without a duration, fragmented MP4/AAC, WAV, ...).
        name: the name used in messages (default: the path, or "upload").
        max_seconds: longest audio accepted (None: the limit in force); a header
            declaring more is refused at once, a stream that runs longer when reached.

    Returns:
        An :class:`AudioSource` (a context manager).

    Raises:
        AudioError: missing, empty, truncated, unreadable or non-audio input; a
            sample rate outside 4000..384000 Hz; implausible channel count.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "upload"
        data = bytes(source)
        if not data:
            raise AudioError(f"{label}: the upload is empty (0 bytes); send a recording")
        return AudioSource(io.BytesIO(data), label, max_seconds)
    path = Path(source)
    label = name or printable(str(path))
    check_file(path, label)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise AudioError(f"{label}: cannot be read ({exc.strerror}); check permissions") from None
    return AudioSource(handle, label, max_seconds)


def read_all(source: AudioSource) -> npt.NDArray[np.float32]:
    """Every frame of an opened source as one (n, channels) float32 array.

    Raises:
        AudioError: as :meth:`AudioSource.blocks`, or no samples at all.
    """
    parts = list(source.blocks())
    if not parts:
        raise AudioError(
            f"{source.name}: the file holds no audio samples; pass a non-empty recording"
        )
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def load_bytes(
    data: bytes | bytearray | memoryview, *, name: str = "upload", mono: bool = True
) -> tuple[npt.NDArray[np.float32], int]:
    """Decode a whole file held in memory (e.g. an HTTP upload).

    Args:
        data: the file's bytes, any container soundfile or FFmpeg reads.
        name: used in messages.
        mono: average the channels (the published downmix); False keeps them.

    Returns:
        ``(samples, sample_rate)``: (n,) float32 in [-1, 1) when ``mono``, else
        (n, channels); the rate in Hz.

    Raises:
        AudioError: empty, unreadable or non-audio data (see :func:`open_audio`).
    """
    with open_audio(data, name=name) as src:
        frames = read_all(src)
        rate = src.sample_rate
    return (downmix(frames), rate) if mono else (frames, rate)
