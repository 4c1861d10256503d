"""The HTTP routes: ``/v1/health``, ``/v1/model``, ``POST /v1/reconstruct``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from cmp_edge.serve.body import read_audio
from cmp_edge.serve.service import MESH_MEDIA_TYPES, Service

__all__ = ["RECONSTRUCT_BODY", "make_router"]

_ERROR = {"content": {"application/json": {"example": {"error": "audio: ...; what to do"}}}}

RECONSTRUCT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The audio file: as the raw body (any Content-Type; WAV, FLAC, Ogg Vorbis/Opus, "
            "WebM/Opus, MP4/AAC, MP3...), or as the multipart/form-data field `audio`. "
            "The format is found from the bytes."
        ),
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"audio": {"type": "string", "format": "binary"}},
                    "required": ["audio"],
                }
            },
        },
    }
}

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "format=json: the estimate; format=glb|ply|obj: the mesh file",
        "content": {
            "application/json": {
                "example": {
                    "params": {"scale": 1.0, "shape": [0.1], "expr": [0.0]},
                    "timings": {"decode": 2.1, "vad": 3.0, "model": 20.0, "total": 40.0},
                    "duration_s": 4.2,
                    "voiced_s": 3.5,
                    "audio": {"duration_s": 4.2, "peak_dbfs": -3.5, "issues": []},
                    "model": "default.onnx",
                }
            },
            **{t: {} for t in MESH_MEDIA_TYPES.values()},
        },
    },
    408: {"description": "the upload arrived too slowly", **_ERROR},
    413: {"description": "the upload or the audio is too large or too long", **_ERROR},
    415: {"description": "the bytes are not a readable audio file", **_ERROR},
    422: {"description": "unusable audio (no speech, NaN samples) or bad parameters", **_ERROR},
    503: {"description": "the server is busy; retry after Retry-After seconds", **_ERROR},
}


def make_router(service: Service) -> APIRouter:
    """The API routes of one :class:`Service`."""
    router = APIRouter(prefix="/v1", tags=["api"])

    @router.get("/health", summary="liveness")
    async def health() -> dict[str, str]:
        """``{"status": "ok"}`` while the server runs."""
        return {"status": "ok"}

    @router.get("/model", summary="the model bundle's metadata")
    async def model() -> dict[str, Any]:
        """The bundle's metadata (as `cmp-edge info --json`), the providers in use and the
        face model's vertex count and units."""
        return service.model_info()

    @router.post(
        "/reconstruct",
        summary="audio -> face parameters or mesh",
        openapi_extra=RECONSTRUCT_BODY,
        responses=_RESPONSES,
    )
    async def reconstruct(
        request: Request,
        format: Literal["json", "glb", "ply", "obj"] = Query(  # noqa: A002, B008
            "json", description="json: parameters, timings, audio report; else the mesh file"
        ),
    ) -> Response:
        """Estimate a face from a recording of one voice."""
        limits = service.limits
        data, name = await read_audio(request, limits.max_upload_bytes, limits.upload_timeout_s)
        if format == "json":
            result = await service.pool.run(
                service.reconstruct, data, name, timeout=limits.work_timeout_s
            )
            return JSONResponse(service.payload(result.face, result.audio, result.timings))

        def mesh() -> bytes:
            return service.mesh_bytes(service.reconstruct(data, name).face, format)

        blob = await service.pool.run(mesh, timeout=limits.work_timeout_s)
        return Response(
            blob,
            media_type=MESH_MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="face.{format}"'},
        )

    return router
