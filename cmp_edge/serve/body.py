"""Reading a request's audio within the limits: size, time, raw body or multipart field."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from starlette.requests import Request

__all__ = ["ClientError", "read_audio"]


class ClientError(Exception):
    """A request the client got wrong: answered ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


async def _read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ClientError(400, f"Content-Length {declared!r} is not a number")
        if int(declared) > max_bytes:
            raise ClientError(
                413, f"the upload is {int(declared)} bytes; the limit is {max_bytes} bytes"
            )
    parts: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise ClientError(413, f"the upload exceeds the limit of {max_bytes} bytes")
            parts.append(chunk)

    try:
        await asyncio.wait_for(collect(), timeout_s)
    except TimeoutError:
        raise ClientError(
            408, f"the upload did not arrive within {timeout_s:g} s; send it faster or shorter"
        ) from None
    return b"".join(parts)


async def _once(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data


async def _multipart_audio(request: Request, body: bytes) -> tuple[bytes, str]:
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    parser = MultiPartParser(request.headers, _once(body), max_files=4, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ClientError(400, f"the multipart body is malformed ({exc.message})") from None
    try:
        field = form.get("audio")
        if field is None:
            raise ClientError(
                400, "the multipart body has no field 'audio'; send the file as field 'audio'"
            )
        if isinstance(field, UploadFile):
            return await field.read(), field.filename or "audio"
        return field.encode("utf-8"), "audio"
    finally:
        await form.close()


async def read_audio(request: Request, max_bytes: int, timeout_s: float) -> tuple[bytes, str]:
    """The audio of ``POST /v1/reconstruct``: the raw body, or the multipart field ``audio``.

    The Content-Type only chooses between multipart and raw; the audio format
    is always found from the bytes.

    Returns:
        ``(bytes, name)``: the audio file and a name for messages.

    Raises:
        ClientError: 400 (malformed multipart, no ``audio`` field), 408 (too
            slow), 413 (too large).
    """
    body = await _read_body(request, max_bytes, timeout_s)
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith("multipart/form-data"):
        return await _multipart_audio(request, body)
    if body.startswith(b"--") and b"content-disposition: form-data" in body[:2048].lower():
        raise ClientError(
            400,
            "the body looks like multipart form data but the Content-Type is "
            f"{ctype or 'missing'}; send Content-Type: multipart/form-data; boundary=...",
        )
    return body, "audio"
