"""``cmp-edge infer``: one or more audio files -> meshes / parameters / pictures."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cmp_edge._safe.names import printable
from cmp_edge.cli.console import PROG, Console, cli_words
from cmp_edge.cli.options import make_reconstructor
from cmp_edge.cli.outputs import (
    check_audio_input,
    check_new,
    format_timings,
    output_path,
    summary_line,
    write_outputs,
)
from cmp_edge.errors import CmpEdgeError, OutputError


# --------------------------------------------------------------------------- commands
def cmd_infer(args: argparse.Namespace, console: Console) -> int:
    inputs = [Path(p) for p in args.inputs]
    for path in inputs:
        check_audio_input(path, "infer")
    many = len(inputs) > 1
    if (args.render or args.params_json) and many:
        raise CmpEdgeError("--render/--params-json: take one input; run infer once per file")
    if args.render and Path(args.render).suffix.lower() != ".png":
        raise OutputError(
            f"{args.render}: --render writes a PNG picture; give a name ending in .png"
        )
    out = Path(args.output) if args.output else None
    if out is not None and (many or out.is_dir() or args.output.endswith(("/", os.sep))):
        if not out.is_dir():  # created like `batch` does (after the checks below)
            if out.exists():
                raise OutputError(f"{out}: exists and is not a folder; give a folder for -o")
        fmt = args.format or "ply"
        outputs = [out / f"{p.stem}.{fmt}" for p in inputs]
    elif out is not None:
        outputs = [output_path(out, args.format)]
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
    for folder in {o.parent for o in outputs}:
        if not folder.exists():
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise OutputError(
                    f"{folder}: cannot create the output folder ({exc.strerror}); "
                    "check the path and permissions"
                ) from None
    check_new([*outputs, *extras], args.force, named)

    rec = make_reconstructor(args, console)
    failures = 0
    for path, target in zip(inputs, outputs, strict=True):
        try:
            face = rec.predict_file(path)
            write_outputs(face, target, args.render, args.params_json, args.force)
        except CmpEdgeError as exc:
            if not many:
                raise
            failures += 1
            print(f"{PROG}: error: {printable(cli_words(str(exc)))}", file=console.err, flush=True)
            continue
        console.info(summary_line(face, target))
        console.debug(format_timings(face))
    return 1 if failures else 0
