"""The ``cmp-edge`` command: infer, batch, stream, info.

Errors are printed as one line, ``cmp-edge: error: <file>: <what>; <what to do>``,
with a non-zero exit status (1 for bad input or files, 2 for bad usage, 130
after Ctrl-C) and never a traceback (``--verbose`` adds one for internal errors).
Warnings (e.g. clipped audio) are one line too, ``cmp-edge: warning: <what>``;
``--quiet`` hides them.
Heavy modules (NumPy, ONNX Runtime) are imported only by the subcommands
that need them, so ``cmp-edge --version`` and ``--help`` are instant.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from cmp_edge.errors import AudioError, CmpEdgeError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.face import Face
    from cmp_edge.runtime.reconstructor import Reconstructor

__all__ = ["main"]

PROG = "cmp-edge"
FORMATS = ("ply", "obj", "npz", "json")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
# leading bytes of WAV, FLAC, Ogg, MP3 (ID3 tag) and AIFF files
AUDIO_MAGIC = (b"RIFF", b"fLaC", b"OggS", b"ID3", b"FORM")
DEFAULT_MODEL_NOTE = (
    "note: using the built-in default model, trained on SYNTHETIC voices and faces: it shows "
    "the pipeline working, not a person's real face. For real estimates train on Voxceleb-3D "
    "(python -m train.supervised) or convert the published CMP checkpoints (python -m export), "
    "then pass --model."
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message}; see `{self.prog} --help`\n")


class _Version(argparse.Action):
    """``--version``: the version is looked up only when asked for (it costs an import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version and exit")
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        import cmp_edge

        print(f"{PROG} {cmp_edge.__version__}", file=sys.stdout, flush=True)
        parser.exit(0)


class _Console:
    """Prints according to --quiet / --verbose."""

    def __init__(self, quiet: bool, verbose: bool, out: TextIO, err: TextIO) -> None:
        self.quiet, self.verbose, self.out, self.err = quiet, verbose, out, err

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.out, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.err, flush=True)

    def debug(self, text: str) -> None:
        if self.verbose and not self.quiet:
            print(text, file=self.err, flush=True)


# --------------------------------------------------------------------------- parser
def _seconds(text: str, *, positive: bool = False) -> float:
    """argparse type: a finite number of seconds, >= 0 (> 0 when ``positive``)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds {bound}")
    return value


def _positive_seconds(text: str) -> float:
    return _seconds(text, positive=True)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", metavar="ONNX", help="ONNX bundle (default: the built-in model)")
    g.add_argument(
        "--face-model", metavar="FILE", help="face-model file (default: from the bundle)"
    )
    g.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="where to run (default cpu)"
    )
    g.add_argument(
        "--threads", type=int, metavar="N", help="ONNX Runtime threads (default: all cores)"
    )
    g.add_argument(
        "--min-speech",
        type=_seconds,
        default=0.5,
        metavar="SECONDS",
        help="least voiced speech accepted (default 0.5 s); less is an error",
    )
    g.add_argument(
        "--no-vad",
        dest="vad",
        action="store_false",
        help="use all of the audio, without voice activity detection",
    )


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, help="output format (default: from -o, else ply)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    v = p.add_mutually_exclusive_group()
    v.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    v.add_argument("-v", "--verbose", action="store_true", help="print timings and details")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cmp-edge``."""
    parser = _Parser(
        prog=PROG,
        description="Estimate a 3D face mesh from a voice recording (Cross-Modal Perceptionist).",
        epilog="The built-in default model was trained on synthetic voices; see `cmp-edge info`.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("infer", help="speech file(s) -> face mesh(es)")
    p.add_argument("inputs", nargs="+", metavar="AUDIO", help="speech files (WAV, FLAC, OGG, ...)")
    p.add_argument(
        "-o", "--output", metavar="PATH", help="output file, or folder for several inputs"
    )
    p.add_argument("--render", metavar="PNG", help="also write a front|side picture (one input)")
    p.add_argument("--params-json", metavar="JSON", help="also write the parameters (one input)")
    _add_output_options(p)
    _add_model_options(p)

    p = sub.add_parser("batch", help="a folder or manifest of speech files -> meshes + summary")
    p.add_argument(
        "source", metavar="DIR|MANIFEST", help="folder (searched recursively) or list file"
    )
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument(
        "--workers", type=int, metavar="N", help="files processed at once (default: cores)"
    )
    _add_output_options(p)
    _add_model_options(p)

    p = sub.add_parser("stream", help="stream a file (or microphone) and print updated estimates")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("input", nargs="?", metavar="AUDIO", help="speech file to stream")
    src.add_argument("--mic", action="store_true", help="record from the microphone (sounddevice)")
    p.add_argument("-o", "--output", metavar="PATH", help="write the final face here")
    p.add_argument(
        "--chunk-ms", type=int, default=100, metavar="MS", help="chunk length (default 100)"
    )
    p.add_argument("--realtime", action="store_true", help="pace file chunks in real time")
    p.add_argument(
        "--seconds", type=_positive_seconds, default=10.0, help="microphone recording length"
    )
    _add_output_options(p)
    _add_model_options(p)

    p = sub.add_parser("info", help="show a model bundle's metadata")
    p.add_argument("model", nargs="?", metavar="ONNX", help="bundle (default: the built-in model)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


# --------------------------------------------------------------------------- helpers
def _reconstructor(args: argparse.Namespace, console: _Console) -> Reconstructor:
    from cmp_edge.model.session import CPU, CUDA
    from cmp_edge.runtime.reconstructor import Reconstructor

    if args.threads is not None and args.threads < 1:
        raise CmpEdgeError(f"--threads {args.threads}: must be at least 1; pass e.g. --threads 2")
    providers = [CUDA, CPU] if args.device == "cuda" else [CPU]
    if args.device == "cuda":
        import onnxruntime

        # A CUDA provider that cannot load (no cuDNN, ...) logs raw lines on stderr before
        # ONNX Runtime falls back to CPU; the note below says it in one line (-v: details).
        onnxruntime.set_default_logger_severity(2 if console.verbose else 4)
    rec = Reconstructor(
        args.model,
        args.face_model,
        providers=providers,
        threads=args.threads,
        min_voiced_s=args.min_speech,
        vad=args.vad,
    )
    if args.model is None:
        console.note(DEFAULT_MODEL_NOTE)
    if args.device == "cuda" and CUDA not in rec.providers:
        from cmp_edge.model.session import ort_providers

        why = (
            "its CUDA provider did not load (CUDA/cuDNN libraries missing?; -v shows why)"
            if CUDA in ort_providers()
            else "this ONNX Runtime has no CUDA provider; pip install onnxruntime-gpu"
        )
        console.note(f"note: CUDA was requested but ONNX Runtime runs on CPU here: {why}")
    console.debug(
        f"model {rec.model_path} ({rec.info.kind}), face model {rec.face_model_id}, "
        f"providers {', '.join(rec.providers)}, reconstruction on {rec.reconstruct_device}, "
        f"loaded in {rec.load_ms:.1f} ms"
    )
    return rec


def _output_path(path: Path, explicit: str | None) -> Path:
    """The output file for ``-o PATH``: its suffix names the format, else --format adds one."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        if explicit and suffix != explicit:
            raise OutputError(
                f"{path}: suffix .{suffix} contradicts --format {explicit}; make them agree"
            )
        return path
    if explicit:
        return path.with_name(f"{path.name}.{explicit}")
    what = f"unknown suffix .{suffix}" if suffix else "no file suffix"
    raise OutputError(f"{path}: {what}; end the name in .ply, .obj, .npz or .json (or --format)")


def _check_audio_input(path: Path, command: str) -> None:
    if path.is_dir():
        raise AudioError(
            f"{path}: is a folder; use `cmp-edge batch {path} -o OUTDIR` for folders of audio"
            if command == "infer"
            else f"{path}: is a folder; {command} takes one audio file"
        )
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found; check the path")


def _check_new(paths: Sequence[Path], force: bool, named: Sequence[tuple[str, Path]] = ()) -> None:
    """Refuse outputs that collide (with each other or an input) or exist without --force.

    ``named`` pairs an option with the file it names (e.g. ``("--render", path)``)
    so that a collision message can say which options collide.
    """
    owner: dict[Path, str] = {}
    for option, path in named:
        key = path.resolve()
        if key in owner:
            if owner[key] == "input" or option == "input":
                other = option if owner[key] == "input" else owner[key]
                raise OutputError(f"{path}: {other} names an input file; choose another name")
            raise OutputError(
                f"{path}: {owner[key]} and {option} name the same file; give each its own name"
            )
        owner[key] = option
    from cmp_edge._safe.atomic import check_targets

    check_targets(
        paths, overwrite=force, twice="two inputs would write the same output; rename one input"
    )


def _summary_line(face: Face, out: Path) -> str:
    return (
        f"{out}: {face.vertices.shape[0]} vertices from {face.voiced_s:.1f} s of speech "
        f"({face.timings.get('total', 0.0):.1f} ms)"
    )


def _timings(face: Face) -> str:
    return "  ".join(f"{k} {v:.2f}" for k, v in face.timings.items()) + "  (ms)"


def _write_outputs(
    face: Face, target: Path, render: str | None, params_json: str | None, force: bool
) -> None:
    """Write the mesh and the optional extras: all of them, or none on any failure."""
    from cmp_edge._safe.atomic import atomic_files, write_chunks

    image = None
    if render:
        from cmp_edge.output.render import render_views

        image = render_views(face.vertices, face.triangles, size=256)
    paths = [target, *(Path(x) for x in (params_json, render) if x)]
    t0 = time.perf_counter()
    with atomic_files(paths, overwrite=force) as temps:
        face.save(temps[0], overwrite=True)
        if params_json:
            import json

            write_chunks(temps[1], [(json.dumps(face.to_dict(), indent=2) + "\n").encode()])
        if image is not None:
            from cmp_edge.output.render import write_png

            write_png(temps[-1], image, overwrite=True)
    face.timings["write"] = (time.perf_counter() - t0) * 1e3


# --------------------------------------------------------------------------- commands
def _cmd_infer(args: argparse.Namespace, console: _Console) -> int:
    inputs = [Path(p) for p in args.inputs]
    for path in inputs:
        _check_audio_input(path, "infer")
    many = len(inputs) > 1
    if (args.render or args.params_json) and many:
        raise CmpEdgeError("--render/--params-json: take one input; run infer once per file")
    if args.render and Path(args.render).suffix.lower() != ".png":
        raise OutputError(
            f"{args.render}: --render writes a PNG picture; give a name ending in .png"
        )
    out = Path(args.output) if args.output else None
    if out is not None and (many or out.is_dir() or args.output.endswith(("/", os.sep))):
        if not out.is_dir():
            raise OutputError(f"{out}: output folder does not exist; create it first")
        fmt = args.format or "ply"
        outputs = [out / f"{p.stem}.{fmt}" for p in inputs]
    elif out is not None:
        outputs = [_output_path(out, args.format)]
    else:
        fmt = args.format or "ply"
        outputs = [Path(f"{p.stem}.{fmt}") for p in inputs]
    extras = [Path(x) for x in (args.render, args.params_json) if x]
    named = [("input", p) for p in inputs]
    if not many:
        named.append(("-o" if out is not None else "the default output", outputs[0]))
    named += [
        (o, Path(x))
        for o, x in (("--params-json", args.params_json), ("--render", args.render))
        if x
    ]
    _check_new([*outputs, *extras], args.force, named)

    rec = _reconstructor(args, console)
    failures = 0
    for path, target in zip(inputs, outputs, strict=True):
        try:
            face = rec.predict_file(path)
            _write_outputs(face, target, args.render, args.params_json, args.force)
        except CmpEdgeError as exc:
            if not many:
                raise
            failures += 1
            print(f"{PROG}: error: {exc}", file=console.err, flush=True)
            continue
        console.info(_summary_line(face, target))
        console.debug(_timings(face))
    return 1 if failures else 0


def _read_manifest(path: Path) -> list[Path]:
    import csv
    import json

    base = path.parent
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise AudioError(
            f"{path}: cannot read the manifest ({exc.strerror}); pass a folder or a text list"
        ) from None
    if path.suffix.lower() in AUDIO_SUFFIXES or head.startswith(AUDIO_MAGIC):
        raise AudioError(
            f"{path}: is an audio file, not a folder or manifest; "
            f"for one file use `cmp-edge infer {path}`"
        )
    if b"\0" in head:
        raise AudioError(
            f"{path}: is a binary file, not a manifest; give a folder or a text list of "
            "audio paths (.txt one per line, .csv or .json)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AudioError(
            f"{path}: cannot read the manifest ({exc}); pass a folder or a text list"
        ) from None
    entries: list[str] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise AudioError(f"{path}: manifest is not valid JSON; give a list of paths") from None
        if not isinstance(data, list):
            raise AudioError(f"{path}: JSON manifest must be a list of paths or {{'path': ...}}")
        for item in data:
            entries.append(str(item["path"] if isinstance(item, dict) else item))
    elif path.suffix.lower() == ".csv":
        rows = list(csv.reader(text.splitlines()))
        col = 0
        if rows and "path" in [c.strip().lower() for c in rows[0]]:
            col = [c.strip().lower() for c in rows[0]].index("path")
            rows = rows[1:]
        entries = [r[col].strip() for r in rows if r and r[col].strip()]
    else:
        entries = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    return [p if p.is_absolute() else base / p for p in map(Path, entries)]


def _batch_items(source: Path, outdir: Path, fmt: str) -> list[tuple[Path, Path]]:
    if source.is_dir():
        files = sorted(
            p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        )
        items = [(p, outdir / p.relative_to(source).with_suffix("." + fmt)) for p in files]
    elif source.is_file():
        items = [(p, outdir / f"{p.stem}.{fmt}") for p in _read_manifest(source)]
    else:
        raise AudioError(f"{source}: no such folder or manifest; check the path")
    if not items:
        raise AudioError(f"{source}: no audio files found; give a folder of .wav/.flac/.ogg files")
    seen: dict[Path, Path] = {}
    for inp, out in items:
        if out in seen:
            raise OutputError(
                f"{inp}: writes the same output as {seen[out]}; "
                "use a folder source to keep names apart"
            )
        seen[out] = inp
    return items


def _write_summary(outdir: Path, rows: list[dict[str, Any]]) -> None:
    import csv
    import io
    import json

    from cmp_edge._safe.atomic import atomic_write

    fields = ["input", "output", "status", "error", "duration_s", "voiced_s", "total_ms"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in fields})
    with atomic_write(outdir / "summary.csv") as handle:
        handle.write(buf.getvalue().encode())
    with atomic_write(outdir / "summary.json") as handle:
        handle.write((json.dumps(rows, indent=1) + "\n").encode())


def _cmd_batch(args: argparse.Namespace, console: _Console) -> int:
    fmt = args.format or "ply"
    outdir = Path(args.output)
    items = _batch_items(Path(args.source), outdir, fmt)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{outdir}: cannot create the output folder ({exc.strerror}); choose another -o"
        ) from None
    if not os.access(outdir, os.W_OK):
        raise OutputError(f"{outdir}: output folder is not writable; choose another -o")
    rows: list[dict[str, Any]] = [
        {"input": str(i), "output": str(o), "status": "pending", "error": ""} for i, o in items
    ]
    todo: list[int] = []
    for k, (_inp, out) in enumerate(items):
        if out.exists() and not args.force:
            rows[k]["status"] = "skipped"
        else:
            todo.append(k)
    rec = _reconstructor(args, console)
    show = not console.quiet and console.err.isatty()
    done = failed = 0
    skipped = len(items) - len(todo)
    if skipped:
        console.note(f"resuming: {skipped} of {len(items)} outputs exist and are skipped")
    out_of = {items[k][0]: items[k][1] for k in todo}

    def save(face: Face) -> None:
        target = out_of[Path(face.source or "")]
        target.parent.mkdir(parents=True, exist_ok=True)
        face.save(target, overwrite=True)

    t0 = time.perf_counter()
    interrupted = False
    try:
        for index, _path, result in rec.iter_batch(
            [items[k][0] for k in todo], args.workers, handle=save
        ):
            row = rows[todo[index]]
            if isinstance(result, CmpEdgeError):
                failed += 1
                row.update(status="failed", error=str(result))
                console.debug(f"{PROG}: error: {result}")
            else:
                done += 1
                row.update(
                    status="ok",
                    duration_s=round(result.duration_s, 3),
                    voiced_s=round(result.voiced_s, 3),
                    total_ms=round(result.timings.get("total", 0.0), 2),
                )
            if show:
                n = done + failed
                rate = n / max(time.perf_counter() - t0, 1e-9)
                console.err.write(
                    f"\r[{n}/{len(todo)}] {done} ok, {failed} failed, {rate:.1f} files/s "
                )
                console.err.flush()
    except KeyboardInterrupt:
        interrupted = True
    if show:
        console.err.write("\n")
    for row in rows:
        if row["status"] == "pending":
            row["status"] = "interrupted" if interrupted else "failed"
    _write_summary(outdir, rows)
    if interrupted:
        print(
            f"{PROG}: interrupted: {done} written, {len(todo) - done - failed} left; "
            "run the same command again to resume",
            file=console.err,
            flush=True,
        )
        return 130
    console.info(
        f"{outdir}: {done} written, {skipped} skipped, {failed} failed (summary.csv, summary.json)"
    )
    return 1 if failed else 0


def _cmd_stream(args: argparse.Namespace, console: _Console) -> int:
    import numpy as np

    if args.chunk_ms < 10 or args.chunk_ms > 10000:
        raise CmpEdgeError(f"--chunk-ms {args.chunk_ms}: choose 10..10000")
    target: Path | None = None
    if args.output:
        target = _output_path(Path(args.output), args.format)
        _check_new([target], args.force)
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
        _check_audio_input(path, "stream")
    rec = _reconstructor(args, console)
    stream = rec.create_stream()
    last: Any = None

    def report() -> None:
        nonlocal last
        face = stream.current()
        if face is not None and face is not last:
            last = face
            shape = " ".join(f"{v:+.2f}" for v in np.asarray(face.params["shape"])[:3])
            console.info(
                f"{stream.duration_s:6.1f} s  voiced {stream.voiced_s:5.1f} s  "
                f"scale {face.scale:.4f}  shape[:3] {shape}"
            )

    if args.mic:
        import sounddevice as sd

        rate = 16000
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
        from cmp_edge.audio.decode import load

        samples, rate = load(path)
        block = max(1, rate * args.chunk_ms // 1000)
        t_start = time.monotonic()
        for k, start in enumerate(range(0, samples.shape[0], block)):
            stream.accept_waveform(rate, samples[start : start + block])
            report()
            if args.realtime:
                delay = t_start + (k + 1) * args.chunk_ms / 1000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
    stream.input_finished()
    face = stream.result()
    console.info(
        f"final: {stream.duration_s:.1f} s, voiced {stream.voiced_s:.1f} s, "
        f"scale {face.scale:.4f}; "
        f"accept_waveform {stream.accept_ms_total / max(stream.chunks, 1):.3f} ms per chunk"
    )
    if target is not None:
        face.save(target, overwrite=args.force)
        console.info(_summary_line(face, target))
    return 0


def _cmd_info(args: argparse.Namespace, console: _Console) -> int:
    import json

    from cmp_edge.model.bundle import read_bundle

    info = read_bundle(args.model, option="`cmp-edge info`")
    summary = info.summary()
    if args.json:
        print(json.dumps(summary, indent=2), file=console.out)
        return 0
    for key, value in summary.items():
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        print(f"{key:16s} {text}", file=console.out)
    if args.model is None:
        print(DEFAULT_MODEL_NOTE, file=console.out)
    return 0


def _route_warnings(console: _Console) -> None:
    """Print Python warnings as ``cmp-edge: warning: <message>`` (none with --quiet).

    Call inside ``warnings.catch_warnings()``, which restores the previous handling.
    """
    if console.quiet:
        warnings.simplefilter("ignore")
        return

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        text = " ".join(str(message).split())
        print(f"{PROG}: warning: {text}", file=console.err, flush=True)

    warnings.showwarning = show


COMMANDS = {"infer": _cmd_infer, "batch": _cmd_batch, "stream": _cmd_stream, "info": _cmd_info}


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run ``cmp-edge`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(out)
        return 2
    quiet = getattr(args, "quiet", False)
    verbose = getattr(args, "verbose", False)
    console = _Console(quiet, verbose, out, err)
    try:
        with warnings.catch_warnings():
            _route_warnings(console)
            return COMMANDS[args.command](args, console)
    except CmpEdgeError as exc:
        print(f"{PROG}: error: {exc}", file=err, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial outputs were left", file=err, flush=True)
        return 130
    except OSError as exc:
        name = exc.filename or "file"
        print(
            f"{PROG}: error: {name}: {exc.strerror or exc}; check the path and permissions",
            file=err,
        )
        return 1
    except Exception as exc:  # last resort: still one line
        if verbose:
            import traceback

            traceback.print_exc(file=err)
        print(
            f"{PROG}: error: internal error ({type(exc).__name__}: {exc}); "
            "please report it with the command (add --verbose for details)",
            file=err,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
