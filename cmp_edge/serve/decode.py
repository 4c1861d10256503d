"""Audio bytes from a client -> mono float32 samples, without temporary files.

soundfile (libsndfile) reads WAV, FLAC, Ogg Vorbis/Opus, AIFF...; everything
else goes to PyAV (FFmpeg), which reads what browsers record: WebM/Opus from
Chrome and Firefox (often with no duration in the header) and fragmented
MP4/AAC from Safari, plus MP3, M4A and most containers. Decoding stops as
soon as the audio exceeds the server's duration limit, so memory is bounded
by the limit, not by what the header claims.

Note for the maintainers: issue 11 adds PyAV file decoding to
``cmp_edge.audio.decode``; this module's byte decoder should move there
(``load_bytes``) once both have landed.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cmp_edge.audio.decode import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from cmp_edge.errors import AudioError

__all__ = ["Decoded", "TooLong", "Unreadable", "check_samples", "decode_bytes", "mix_to_mono"]


class TooLong(AudioError):
    """The audio is longer than the server accepts."""


class Unreadable(AudioError):
    """The bytes are not audio in any format soundfile or FFmpeg reads."""


@dataclass
class Decoded:
    """Decoded audio.

    Attributes:
        samples: (n,) float32 mono in [-1, 1], at ``sample_rate``.
        sample_rate: Hz.
        channels: channels in the input (mixed to mono, see :func:`mix_to_mono`).
        container: "wav", "flac", "webm", "mp4"... as the decoder named it.
        codec: e.g. "pcm_16", "opus", "aac".
        notes: warnings about the input (one short sentence each).
    """

    samples: npt.NDArray[np.float32]
    sample_rate: int
    channels: int
    container: str
    codec: str
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Seconds of audio."""
        return self.samples.shape[0] / self.sample_rate


def mix_to_mono(
    block: npt.NDArray[np.float32], notes: list[str] | None = None
) -> npt.NDArray[np.float32]:
    """(n, channels) float32 -> (n,) float32: the channel average, unless it cancels.

    When the average holds less than a tenth of the channels' energy (channels
    in antiphase, as from a miswired stereo microphone), the loudest channel is
    used instead and a note is added to ``notes``.
    """
    if block.ndim == 1 or block.shape[1] == 1:
        return np.ascontiguousarray(block.reshape(-1), dtype=np.float32)
    mean = block.mean(axis=1, dtype=np.float32)
    power = np.mean(np.square(block, dtype=np.float64), axis=0)
    if float(np.mean(np.square(mean, dtype=np.float64))) < 0.1 * float(power.mean()):
        if notes is not None:
            notes.append(
                "the channels cancel when averaged (antiphase stereo); used the loudest channel"
            )
        return np.ascontiguousarray(block[:, int(np.argmax(power))], dtype=np.float32)
    return np.ascontiguousarray(mean, dtype=np.float32)


def check_samples(
    samples: npt.NDArray[np.float32], what: str, max_float_peak: float
) -> npt.NDArray[np.float32]:
    """Reject samples that are not audio (NaN, infinities, huge values); clip the rest to [-1, 1].

    Args:
        samples: float32 of any shape (clipped in place).

    Raises:
        AudioError: non-finite values, or values beyond ``max_float_peak`` (bytes
            that are not float audio, e.g. int16 PCM read as float32).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        total = float(np.sum(samples, dtype=np.float64))
    if not math.isfinite(total):
        raise AudioError(
            f"{what}: the audio holds NaN or infinite values; the bytes are not float audio "
            "(send the format the header declares, e.g. s16le for 16-bit PCM)"
        )
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > max_float_peak:
        raise AudioError(
            f"{what}: sample values reach {peak:.3g}, far beyond full scale (1.0); the bytes "
            "are not float audio (send the format the header declares, e.g. s16le)"
        )
    if peak > 1.0:
        np.clip(samples, -1.0, 1.0, out=samples)
    return samples


def _check_rate(rate: int, what: str) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{what}: sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; "
            "send audio at 16000 Hz or more"
        )


def _too_long(what: str, max_s: float) -> TooLong:
    return TooLong(f"{what}: the audio is longer than {max_s:g} s; send a shorter recording")


def _with_soundfile(data: bytes, what: str, max_s: float) -> Decoded | None:
    import soundfile as sf

    try:
        snd = sf.SoundFile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    with snd:
        rate, channels = int(snd.samplerate), int(snd.channels)
        _check_rate(rate, what)
        limit = int(max_s * rate) + 1
        if snd.frames and snd.frames > limit:
            raise _too_long(what, max_s)
        try:
            block = snd.read(limit, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"{what}: decoding failed ({exc}); the file is damaged") from exc
        if block.shape[0] >= limit:
            raise _too_long(what, max_s)
        notes: list[str] = []
        mono = mix_to_mono(block, notes)
        return Decoded(mono, rate, channels, snd.format.lower(), snd.subtype.lower(), notes)


def _with_pyav(data: bytes, what: str, max_s: float) -> Decoded:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is part of the serve extra
        raise Unreadable(
            f"{what}: not WAV, FLAC or Ogg, and PyAV is not installed to read other formats; "
            'pip install -e ".[serve]"'
        ) from exc
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise Unreadable(
            f"{what}: not a readable audio file; send WAV, FLAC, Ogg, WebM/Opus, MP4/AAC or MP3"
        ) from exc
    with container:
        streams = container.streams.audio
        if not streams:
            raise Unreadable(f"{what}: the file has no audio track; send a sound recording")
        stream = streams[0]
        codec = stream.codec_context.name
        resampler = av.AudioResampler(format="fltp")  # planar float32, rate and layout kept
        blocks: list[npt.NDArray[np.float32]] = []
        rate = channels = 0
        count = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = np.asarray(out.to_ndarray(), dtype=np.float32)  # (channels, n)
                    if rate == 0:
                        rate, channels = int(out.sample_rate), arr.shape[0]
                        _check_rate(rate, what)
                    elif int(out.sample_rate) != rate or arr.shape[0] != channels:
                        raise AudioError(
                            f"{what}: the sample rate or channel count changes mid-file; "
                            "re-encode it at one rate"
                        )
                    blocks.append(arr.T)
                    count += arr.shape[1]
                    if count > max_s * rate:
                        raise _too_long(what, max_s)
        except av.error.FFmpegError as exc:
            if not blocks:
                raise AudioError(
                    f"{what}: decoding failed ({type(exc).__name__}); the file is damaged "
                    "or not audio"
                ) from exc
            # a recording cut short (browser tab closed): keep what was decoded
        notes: list[str] = []
        if not blocks:
            raise AudioError(f"{what}: the file holds no audio samples; send a recording")
        mono = mix_to_mono(np.concatenate(blocks, axis=0), notes)
        return Decoded(mono, rate, channels, container.format.name.split(",")[0], codec, notes)


def decode_bytes(
    data: bytes, *, what: str = "audio", max_duration_s: float = 120.0, max_float_peak: float = 8.0
) -> Decoded:
    """Decode a whole audio file held in memory.

    Args:
        data: the file's bytes (any container soundfile or FFmpeg reads; the
            format is found from the bytes, never from a Content-Type or name).
        what: the name used in messages.
        max_duration_s: longer audio raises :class:`TooLong` (decoding stops there).
        max_float_peak: see :func:`check_samples`.

    Returns:
        The :class:`Decoded` audio, mono, at the file's own rate.

    Raises:
        AudioError: empty, unreadable, damaged, silent-empty or non-audio bytes.
        TooLong: audio longer than ``max_duration_s``.
    """
    if not data:
        raise AudioError(f"{what}: no audio was sent (0 bytes); send a recording")
    decoded = _with_soundfile(data, what, max_duration_s)
    if decoded is None:
        decoded = _with_pyav(data, what, max_duration_s)
    if decoded.samples.size == 0:
        raise AudioError(f"{what}: the file holds no audio samples; send a recording")
    check_samples(decoded.samples, what, max_float_peak)
    return decoded
