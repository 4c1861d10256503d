"""``WS /v1/stream``: PCM chunks in, provisional estimates out, then the final estimate.

Protocol (text messages are JSON):

1. client -> ``{"sample_rate": 16000, "format": "f32le" | "s16le", "channels": 1}``
   (``channels`` optional, default 1; samples interleaved);
2. client -> binary messages of any size (0 bytes, odd lengths: the bytes of an
   incomplete sample wait for the next message);
3. server -> ``{"type": "partial", "params": ..., "voiced_s": ..., ...}`` whenever a
   new provisional estimate exists (every ~1 s of new speech);
4. client -> ``{"type": "end"}``; server -> ``{"type": "final", ...}`` with the
   body ``POST /v1/reconstruct`` gives for the same audio, then closes (1000).

On a problem the server sends ``{"type": "error", "error": "<one line>", "status": N}``
(N as the HTTP API would answer) and closes: 1008 protocol error or idle, 1007
samples that are not audio, 1009 too long, 1013 busy, 1011 internal error.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from cmp_edge.audio.reader import too_long
from cmp_edge.errors import AudioError, AudioTooLongError, NoSpeechError
from cmp_edge.serve.http_errors import one_line, status_of
from cmp_edge.serve.service import Service

__all__ = ["StreamSession", "check_samples", "serve_stream"]

_DTYPES: dict[str, np.dtype[Any]] = {"f32le": np.dtype("<f4"), "s16le": np.dtype("<i2")}


def check_samples(samples: np.ndarray, what: str, max_float_peak: float) -> np.ndarray:
    """Reject float PCM that is not audio (NaN, infinities, huge values); clip the rest
    to [-1, 1] in place.

    Args:
        samples: float32 of any shape, as received.
        what: the name used in messages.
        max_float_peak: larger magnitudes mean the bytes are not float audio (e.g.
            s16le sent as f32le gives values up to 1e38).

    Raises:
        AudioError: non-finite values, or values beyond ``max_float_peak``.
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


class _Closing(Exception):
    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def parse_header(text: str) -> tuple[int, str, int]:
    """The first message -> ``(sample_rate, format, channels)``; raises _Closing(1008)."""
    try:
        head = json.loads(text)
    except json.JSONDecodeError:
        head = None
    if not isinstance(head, dict):
        raise _Closing(1008, "the first message must be a JSON object with sample_rate", 400)
    rate, fmt, channels = (
        head.get("sample_rate"),
        head.get("format", "f32le"),
        head.get("channels", 1),
    )
    if isinstance(rate, bool) or not isinstance(rate, int) or not 4000 <= rate <= 384000:
        raise _Closing(1008, f"sample_rate {rate!r} must be an integer in 4000..384000 Hz", 400)
    if fmt not in _DTYPES:
        raise _Closing(1008, f"format {fmt!r} is unknown; use f32le or s16le", 400)
    if isinstance(channels, bool) or channels not in (1, 2):
        raise _Closing(1008, f"channels {channels!r} must be 1 or 2", 400)
    return rate, fmt, channels


class StreamSession:
    """The state of one WebSocket stream (blocking methods: call them in the work pool)."""

    def __init__(self, service: Service, rate: int, fmt: str, channels: int) -> None:
        self.service = service
        self.rate, self.channels = rate, channels
        self.dtype = _DTYPES[fmt]
        self.frame_bytes = self.dtype.itemsize * channels
        self.stream = service.rec.create_stream()
        self.samples = 0  # frames accepted
        self.pending = b""
        self.received = 0
        self.last_sent: object = None

    def take(self, data: bytes) -> np.ndarray:
        """Bytes -> (n, channels) float32 frames of the complete frames (the rest waits);
        the stream mixes the channels (:func:`cmp_edge.audio.channels.downmix`)."""
        self.received += len(data)
        limits = self.service.limits
        if self.received > limits.max_upload_bytes:
            raise _Closing(1009, f"the stream exceeds {limits.max_upload_bytes} bytes", 413)
        buf = self.pending + data
        usable = len(buf) - len(buf) % self.frame_bytes
        self.pending = buf[usable:]
        if usable == 0:
            return np.zeros((0, self.channels), np.float32)
        raw = np.frombuffer(buf[:usable], dtype=self.dtype).reshape(-1, self.channels)
        if self.dtype == np.int16:
            block = raw.astype(np.float32) / np.float32(32768.0)
        else:
            block = check_samples(raw.astype(np.float32), "stream", limits.max_float_peak)
        return block

    def feed(self, samples: np.ndarray) -> dict[str, Any] | None:
        """Accept samples; the partial message when a new provisional estimate exists."""
        limits = self.service.limits
        total = self.samples + samples.shape[0]
        if total / self.rate > limits.max_duration_s:
            raise too_long("stream", total / self.rate, limits.max_duration_s)
        self.samples = total
        self.stream.accept_waveform(self.rate, samples)
        face = self.stream.current()
        if face is None or face is self.last_sent:
            return None
        self.last_sent = face
        body = self.service.payload(face, None, face.timings)
        return {
            "type": "partial",
            **body,
            "duration_s": round(self.stream.duration_s, 4),
            "voiced_s": round(self.stream.voiced_s, 4),
        }

    def final(self) -> dict[str, Any]:
        """Finish the stream: the final message (the body POST /v1/reconstruct gives)."""
        if self.samples == 0:
            raise AudioError("stream: no audio was sent; send binary PCM chunks before end")
        self.stream.input_finished()
        face = self.stream.result()
        audio = self.service.audio_report(face)
        return {"type": "final", **self.service.payload(face, audio, face.timings)}


async def _receive(ws: WebSocket, timeout: float) -> dict[str, Any]:
    try:
        return dict(await asyncio.wait_for(ws.receive(), timeout))
    except TimeoutError:
        raise _Closing(1008, f"no message for {timeout:g} s; the stream was closed", 408) from None


async def _run(ws: WebSocket, service: Service) -> None:
    idle = service.limits.idle_timeout_s
    msg = await _receive(ws, idle)
    if msg["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(msg.get("code", 1000))
    if msg.get("text") is None:
        raise _Closing(1008, "the first message must be the JSON header, not binary", 400)
    session = StreamSession(service, *parse_header(msg["text"]))
    while True:
        msg = await _receive(ws, idle)
        if msg["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(msg.get("code", 1000))
        if msg.get("bytes") is not None:
            samples = session.take(msg["bytes"])
            if samples.size == 0:
                continue
            partial = await service.pool.run_unbounded(session.feed, samples)
            if partial is not None:
                await ws.send_json(partial)
            continue
        try:
            control = json.loads(msg.get("text") or "")
        except json.JSONDecodeError:
            control = None
        if not isinstance(control, dict) or control.get("type") != "end":
            raise _Closing(1008, 'text messages after the header must be {"type": "end"}', 400)
        await ws.send_json(await service.pool.run_unbounded(session.final))
        await ws.close(1000)
        return


async def serve_stream(ws: WebSocket, service: Service) -> None:
    """Handle one ``/v1/stream`` connection from accept to close."""
    await ws.accept()
    if service.open_streams >= service.limits.max_streams:
        await ws.send_json(
            {"type": "error", "error": "the server is busy; retry later", "status": 503}
        )
        await ws.close(1013)
        return
    service.open_streams += 1
    try:
        await _run(ws, service)
    except WebSocketDisconnect:
        pass  # the client left: its stream is dropped with this frame
    except _Closing as exc:
        await _close(ws, exc.code, str(exc), exc.status)
    except Exception as exc:  # every other failure becomes one error message
        status, message, _ = status_of(exc)
        if isinstance(exc, NoSpeechError):
            code = 1000  # a valid stream with no usable speech in it
        elif isinstance(exc, AudioTooLongError):
            code = 1009
        else:
            code = 1007 if isinstance(exc, AudioError) else 1011
        await _close(ws, code, message, status)
    finally:
        service.open_streams -= 1


async def _close(ws: WebSocket, code: int, message: str, status: int) -> None:
    try:
        await ws.send_json({"type": "error", "error": one_line(message), "status": status})
        await ws.close(code)
    except (WebSocketDisconnect, RuntimeError):
        pass  # already gone
