"""The ``cmp-edge`` command: infer, batch, stream, serve, info, compare.

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
import contextlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from cmp_edge._safe.names import printable
from cmp_edge.cli.batch import cmd_batch
from cmp_edge.cli.compare import add_compare_parser, cmd_compare
from cmp_edge.cli.console import PROG, Console, cli_words, route_warnings
from cmp_edge.cli.infer import cmd_infer
from cmp_edge.cli.info import cmd_info
from cmp_edge.cli.options import (
    Parser,
    VersionAction,
    add_model_options,
    add_output_options,
    positive_seconds,
)
from cmp_edge.cli.serve import add_serve_parser, cmd_serve
from cmp_edge.cli.stream import cmd_stream
from cmp_edge.errors import CmpEdgeError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cmp-edge``."""
    parser = Parser(
        prog=PROG,
        description="Estimate a 3D face mesh from a voice recording (Cross-Modal Perceptionist).",
        epilog="The built-in default model was trained on synthetic voices; see `cmp-edge info`.",
    )
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("infer", help="speech file(s) -> face mesh(es)")
    p.add_argument("inputs", nargs="+", metavar="AUDIO", help="speech files (WAV, FLAC, OGG, ...)")
    p.add_argument(
        "-o", "--output", metavar="PATH", help="output file, or folder for several inputs"
    )
    p.add_argument("--render", metavar="PNG", help="also write a front|side picture (one input)")
    p.add_argument("--params-json", metavar="JSON", help="also write the parameters (one input)")
    add_output_options(p)
    add_model_options(p)

    p = sub.add_parser("batch", help="a folder or manifest of speech files -> meshes + summary")
    p.add_argument(
        "source", metavar="DIR|MANIFEST", help="folder (searched recursively) or list file"
    )
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument(
        "--workers", type=int, metavar="N", help="files processed at once (default: cores)"
    )
    add_output_options(p)
    add_model_options(p)

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
        "--seconds", type=positive_seconds, default=10.0, help="microphone recording length"
    )
    add_output_options(p)
    add_model_options(p)

    p = sub.add_parser("serve", help="HTTP API and browser page (needs the serve extra)")
    add_serve_parser(p)
    add_model_options(p)

    p = sub.add_parser("info", help="show a model bundle's metadata")
    p.add_argument("model", nargs="?", metavar="ONNX", help="bundle (default: the built-in model)")
    p.add_argument("--json", action="store_true", help="print JSON")

    add_compare_parser(sub)
    return parser


COMMANDS = {
    "infer": cmd_infer,
    "batch": cmd_batch,
    "stream": cmd_stream,
    "serve": cmd_serve,
    "info": cmd_info,
    "compare": cmd_compare,
}


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
    console = Console(quiet, verbose, out, err)
    try:
        with warnings.catch_warnings():
            route_warnings(console)
            return COMMANDS[args.command](args, console)
    except CmpEdgeError as exc:
        print(f"{PROG}: error: {printable(cli_words(str(exc)))}", file=err, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial outputs were left", file=err, flush=True)
        return 130
    except BrokenPipeError:  # e.g. `cmp-edge info | head`: the reader left; say nothing
        with contextlib.suppress(OSError, ValueError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the exit-time flush
        return 141
    except OSError as exc:
        name = printable(str(exc.filename or "file"))
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
            f"{PROG}: error: internal error ({type(exc).__name__}: {printable(str(exc))}); "
            "please report it with the command (add --verbose for details)",
            file=err,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
