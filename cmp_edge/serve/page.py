"""The browser page at ``/`` (Gradio): speak or drop a file, see the head in 3D.

Two ways in: a recording or a dropped file, estimated when it is complete;
and a live mode whose estimate refreshes every second of new speech while
the person talks (``Stream``) and ends, when the recording stops, on the
same result as the offline estimate of the whole recording. Gradio ships its
front end inside its Python package: the page needs no internet.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cmp_edge.errors import CmpEdgeError
from cmp_edge.serve.http_errors import one_line
from cmp_edge.serve.service import Service

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

    from cmp_edge.runtime.face import Face

__all__ = ["build_page"]

_INTRO = """\
# cmp-edge: speak and see your face
Record a few seconds of one voice (or drop an audio file) and cmp-edge estimates
the 3D geometry of the speaker's face with *Cross-Modal Perceptionist*.
Drag the head to turn it, scroll to zoom. **Live** refreshes the estimate while
you speak; when you stop, it shows the estimate of the whole recording.
"""
_KEEP_S = 600.0  # meshes older than this are removed from the page's folder


class _Outputs:
    """Turns a face into the page's outputs (3D file, picture, parameters, notes)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.folder = Path(tempfile.mkdtemp(prefix="cmp-edge-page-"))

    def _glb(self, face: Face) -> str:
        now = time.time()
        for old in self.folder.glob("*.glb"):
            if now - old.stat().st_mtime > _KEEP_S:
                old.unlink(missing_ok=True)
        fd, name = tempfile.mkstemp(suffix=".glb", dir=self.folder)
        os.close(fd)
        face.save(name)
        return name

    def show(
        self, face: Face, audio: dict[str, Any] | None, timings: dict[str, float], status: str
    ) -> tuple[Any, ...]:
        from cmp_edge.output.render import render_views

        picture = render_views(face.vertices, face.triangles, size=320)
        body = self.service.payload(face, audio, timings)
        lines = [f"**{status}**", ""]
        if audio:
            lines.append(
                f"Audio: {audio['duration_s']:.1f} s, {audio['sample_rate']} Hz, "
                f"{audio['channels']} channel(s); speech kept {face.voiced_s:.1f} s; "
                f"peak {audio['peak_dbfs']:.1f} dBFS, bandwidth "
                f"{audio['bandwidth_hz'] / 1000:.1f} kHz."
            )
            issues = audio.get("issues") or []
            lines += [f"- {n}" for n in issues] or ["- no problems found in the audio"]
        stages = " | ".join(f"{k} {v:.1f}" for k, v in body["timings"].items())
        lines += ["", f"Time per stage (ms): {stages}"]
        params = {"params": body["params"], "model": body["model"], "units": body["units"]}
        return self._glb(face), picture, params, "\n".join(lines)


def _error(message: str) -> tuple[Any, ...]:
    import gradio as gr

    return gr.skip(), gr.skip(), gr.skip(), f"**Could not estimate a face:** {one_line(message)}"


def build_page(service: Service) -> tuple[gr.Blocks, gr.themes.Base]:
    """The Gradio page of a :class:`Service` and its theme (system fonts: works offline)."""
    import gradio as gr

    out = _Outputs(service)
    limits = service.limits

    def estimate(path: str | None) -> tuple[Any, ...]:
        if not path:
            return _error("record or drop some audio first")
        try:
            size = os.path.getsize(path)
            if size > limits.max_upload_bytes:
                return _error(f"the file is {size} bytes; the limit is {limits.max_upload_bytes}")
            result = service.reconstruct(Path(path).read_bytes(), "recording")
        except CmpEdgeError as exc:
            return _error(str(exc))
        return out.show(result.face, result.audio, result.timings, "Estimate of the recording")

    def live_step(chunk: tuple[int, np.ndarray] | None, state: dict | None) -> tuple[Any, ...]:
        state = state or {}
        if chunk is None:
            return (state, *[gr.skip()] * 4)
        rate, samples = chunk
        x = np.asarray(samples)
        x = x.astype(np.float32) / 32768.0 if x.dtype == np.int16 else x.astype(np.float32)
        if "stream" not in state:
            state = {"stream": service.rec.create_stream()}
        stream = state["stream"]
        if stream.duration_s > limits.max_duration_s:
            return (state, *_error(f"recordings are limited to {limits.max_duration_s:g} s"))
        stream.accept_waveform(int(rate), x)  # (n,) or (n, channels): the stream mixes
        face = stream.current()
        if face is None or face is state.get("shown"):
            status = f"Listening... {stream.voiced_s:.1f} s of speech so far"
            return (state, gr.skip(), gr.skip(), gr.skip(), f"**{status}**")
        state["shown"] = face
        status = f"Live estimate from {stream.voiced_s:.1f} s of speech (refreshes as you speak)"
        return (state, *out.show(face, None, face.timings, status))

    def live_end(state: dict | None) -> tuple[Any, ...]:
        if not state or "stream" not in state:
            return ({}, *_error("nothing was recorded"))
        stream = state["stream"]
        try:
            stream.input_finished()
            face = stream.result()
        except CmpEdgeError as exc:
            return ({}, *_error(str(exc)))
        audio = service.audio_report(face)
        return ({}, *out.show(face, audio, face.timings, "Final estimate of the whole recording"))

    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["monospace"])
    # delete_cache: Gradio's copies of recordings and meshes older than an hour go hourly
    with gr.Blocks(title="cmp-edge", analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.Markdown(_INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Tab("Record or drop a file"):
                    audio = gr.Audio(
                        sources=["microphone", "upload"], type="filepath", label="Speech"
                    )
                    run = gr.Button("Estimate the face", variant="primary", elem_id="estimate")
                with gr.Tab("Live"):
                    live = gr.Audio(
                        sources=["microphone"], streaming=True, type="numpy", label="Live speech"
                    )
                report = gr.Markdown("Record or drop speech to begin.", elem_id="report")
            with gr.Column(scale=2):
                viewer = gr.Model3D(
                    label="Predicted head (drag to rotate, scroll to zoom)",
                    clear_color=(0.95, 0.95, 0.97, 1.0),
                    camera_position=(90, 90, None),
                    height=420,
                    elem_id="viewer",
                )
                picture = gr.Image(label="Front and side", type="numpy", elem_id="picture")
                params = gr.JSON(label="Parameters (3DMM coefficients)", elem_id="params")
        outputs = [viewer, picture, params, report]
        live_state = gr.State({})
        run.click(estimate, inputs=audio, outputs=outputs, concurrency_limit=limits.workers)
        audio.stop_recording(estimate, inputs=audio, outputs=outputs)
        # every chunk must reach the stream, in order, and the end must come after the
        # last chunk: one FIFO lane ("multiple" queues chunks instead of dropping them
        # while one is processed); a step is cheap (an encoder run per second of speech)
        live.stream(
            live_step,
            inputs=[live, live_state],
            outputs=[live_state, *outputs],
            stream_every=0.5,
            time_limit=int(limits.max_duration_s),
            trigger_mode="multiple",
            concurrency_limit=1,
            concurrency_id="live",
            show_progress="hidden",
        )
        live.stop_recording(
            live_end,
            inputs=live_state,
            outputs=[live_state, *outputs],
            trigger_mode="multiple",
            concurrency_limit=1,
            concurrency_id="live",
        )
    return page, theme
