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
from typing import Any

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from cmp_edge.errors import AudioError, NoSpeechError
from cmp_edge.serve.decode import TooLong, check_samples, mix_to_mono
from cmp_edge.serve.http_errors import one_line, status_of
from cmp_edge.serve.quality import LevelMeter
from cmp_edge.serve.service import Service

__all__ = ["StreamSession", "serve_stream"]

_DTYPES: dict[str, np.dtype[Any]] = {"f32le": np.dtype("<f4"), "s16le": np.dtype("<i2")}


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
        self.meter = LevelMeter()
        self.notes: list[str] = []
        self.pending = b""
        self.received = 0
        self.last_sent: object = None

    def take(self, data: bytes) -> np.ndarray:
        """Bytes -> (n,) float32 mono samples of the complete frames (the rest waits)."""
        self.received += len(data)
        limits = self.service.limits
        if self.received > limits.max_upload_bytes:
            raise _Closing(1009, f"the stream exceeds {limits.max_upload_bytes} bytes", 413)
        buf = self.pending + data
        usable = len(buf) - len(buf) % self.frame_bytes
        self.pending = buf[usable:]
        if usable == 0:
            return np.zeros(0, np.float32)
        raw = np.frombuffer(buf[:usable], dtype=self.dtype).reshape(-1, self.channels)
        if self.dtype == np.int16:
            block = raw.astype(np.float32) / np.float32(32768.0)
        else:
            block = check_samples(raw.astype(np.float32), "stream", limits.max_float_peak)
        return mix_to_mono(block, None if self.notes else self.notes)

    def feed(self, samples: np.ndarray) -> dict[str, Any] | None:
        """Accept samples; the partial message when a new provisional estimate exists."""
        limits = self.service.limits
        if (self.meter.count + samples.shape[0]) / self.rate > limits.max_duration_s:
            raise TooLong(f"stream: the audio is longer than {limits.max_duration_s:g} s")
        self.meter.update(samples)
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
        if self.meter.count == 0:
            raise AudioError("stream: no audio was sent; send binary PCM chunks before end")
        self.stream.input_finished()
        face = self.stream.result()
        audio = self.meter.report(
            self.rate,
            voiced_s=face.voiced_s,
            channels=self.channels,
            container="pcm",
            codec="f32le" if self.dtype == np.float32 else "s16le",
            notes=self.notes,
        )
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
        elif isinstance(exc, TooLong):
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
