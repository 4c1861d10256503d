"""``cmp-edge stream``: a file or the microphone in chunks, with provisional estimates."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from cmp_edge.audio.signal import SAMPLE_RATE
from cmp_edge.cli.console import Console
from cmp_edge.cli.options import make_reconstructor
from cmp_edge.cli.outputs import check_audio_input, check_new, output_path, summary_line
from cmp_edge.errors import CmpEdgeError


def cmd_stream(args: argparse.Namespace, console: Console) -> int:
    import numpy as np

    if args.chunk_ms < 10 or args.chunk_ms > 10000:
        raise CmpEdgeError(f"--chunk-ms {args.chunk_ms}: choose 10..10000")
    target: Path | None = None
    if args.output:
        target = output_path(Path(args.output), args.format)
        check_new([target], args.force)
    if args.mic:
        try:
            import sounddevice  # noqa: F401
        except ImportError:
            raise CmpEdgeError(
                "--mic: the sounddevice package is not installed; pip install sounddevice, "
                "or stream a file instead"
            ) from None
    else:
        path = Path(args.input)
        check_audio_input(path, "stream")
    rec = make_reconstructor(args, console)
    stream = rec.create_stream()
    last: Any = None
    console.info(f"{'audio s':>8}  {'voiced s':>8}  {'scale':>7}  shape[0:3] (prior units)")

    def row(kind: str, face: Any) -> str:
        shape = " ".join(f"{v:+6.2f}" for v in np.asarray(face.params["shape"])[:3])
        return (
            f"{stream.duration_s:8.1f}  {stream.voiced_s:8.1f}  {face.scale:7.4f}  {shape}  {kind}"
        )

    def report() -> None:
        nonlocal last
        face = stream.current()
        if face is not None and face is not last:
            last = face
            console.info(row("provisional", face))

    if args.mic:
        import sounddevice as sd

        rate = SAMPLE_RATE
        block = rate * args.chunk_ms // 1000
        with sd.InputStream(samplerate=rate, channels=1, dtype="float32", blocksize=block) as mic:
            t_end = time.monotonic() + args.seconds
            try:
                while time.monotonic() < t_end:
                    data, _overflow = mic.read(block)
                    stream.accept_waveform(rate, data[:, 0])
                    report()
            except KeyboardInterrupt:
                pass
    else:
        from cmp_edge.runtime.inputs import file_chunks

        t_start = time.monotonic()
        with file_chunks(path, args.chunk_ms / 1000) as (rate, chunks):
            for k, chunk in enumerate(chunks):
                stream.accept_waveform(rate, chunk)
                report()
                if args.realtime:
                    delay = t_start + (k + 1) * args.chunk_ms / 1000 - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
    stream.input_finished()
    face = stream.result()
    console.info(row("final", face))
    console.debug(
        f"accept_waveform: {stream.accept_ms_total / max(stream.chunks, 1):.3f} ms per chunk "
        f"over {stream.chunks} chunks"
    )
    if target is not None:
        face.save(target, overwrite=args.force)
        console.info(summary_line(face, target))
    return 0
