"""``create_app``: the FastAPI application of ``cmp-edge serve`` (API, stream, page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmp_edge.errors import CmpEdgeError
from cmp_edge.serve.api import make_router
from cmp_edge.serve.body import ClientError
from cmp_edge.serve.http_errors import one_line, status_of
from cmp_edge.serve.limits import Limits
from cmp_edge.serve.service import Service
from cmp_edge.serve.work import Busy
from cmp_edge.serve.ws import serve_stream

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.reconstructor import Reconstructor

__all__ = ["create_app"]

DESCRIPTION = """\
Estimate a person's 3D face geometry from their voice (Cross-Modal Perceptionist).

- `POST /v1/reconstruct`: an audio file (raw body or multipart field `audio`) ->
  parameters (`format=json`) or the mesh (`format=glb|ply|obj`).
- `WS /v1/stream`: PCM chunks in, provisional estimates out, then the final
  estimate, equal to `POST /v1/reconstruct` on the same audio.
- Errors: 4xx with `{"error": "<one line>"}`; 503 with `Retry-After` when busy.

The page at `/` records from the microphone and shows the head in 3D.
"""


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "body"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return one_line("; ".join(parts) or "invalid request")


def _add_docs(app: FastAPI) -> None:
    """The OpenAPI page at ``/docs`` with Swagger UI's files served from the
    swagger-ui-bundle package (no CDN: the page works offline)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="cmp-edge API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def create_app(
    reconstructor: Reconstructor, limits: Limits | None = None, *, page: bool = True
) -> FastAPI:
    """The application: the API under ``/v1``, the stream, and (``page``) the Gradio page at ``/``.

    Args:
        reconstructor: the model, loaded once and shared by all requests.
        limits: upload size, duration, concurrency and timeouts (default :class:`Limits`).
        page: mount the browser page at ``/`` (needs Gradio).

    Raises:
        CmpEdgeError: invalid limits.
    """
    from cmp_edge import __version__

    service = Service(reconstructor, limits)
    service.warm_up()
    app = FastAPI(
        title="cmp-edge",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    _add_docs(app)
    app.include_router(make_router(service))

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        await serve_stream(ws, service)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": one_line(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    async def answer(_: Request, exc: Exception) -> JSONResponse:
        status, message, headers = status_of(exc, service.pool.retry_after())
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    # the expected failures are answered by the exception middleware (no re-raise);
    # Exception itself is the last resort: 500 with one line, details in the log
    for kind in (ClientError, Busy, TimeoutError, CmpEdgeError, Exception):
        app.add_exception_handler(kind, answer)

    if page:
        import gradio as gr

        from cmp_edge.serve.page import build_page

        blocks, theme = build_page(service)
        gr.mount_gradio_app(
            app,
            blocks,
            path="/",
            show_error=True,
            theme=theme,
            max_file_size=service.limits.max_upload_bytes,
        )
    return app
