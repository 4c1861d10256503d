"""``cmp-edge batch``: many files, resumable, with a summary."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmp_edge._safe.names import printable
from cmp_edge.cli.console import PROG, Console
from cmp_edge.cli.manifest import batch_items
from cmp_edge.cli.options import make_reconstructor
from cmp_edge.cli.report import QUALITY_COLUMNS, quality_row
from cmp_edge.errors import CmpEdgeError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.face import Face


def write_summary(outdir: Path, rows: list[dict[str, Any]]) -> None:
    import csv
    import io
    import json

    from cmp_edge._safe.atomic import atomic_write

    fields = [
        "input",
        "output",
        "status",
        "error",
        "duration_s",
        "voiced_s",
        "total_ms",
        *QUALITY_COLUMNS,
        "warnings",
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in fields})
    with atomic_write(outdir / "summary.csv") as handle:
        handle.write(buf.getvalue().encode())
    with atomic_write(outdir / "summary.json") as handle:
        handle.write((json.dumps(rows, indent=1) + "\n").encode())


def cmd_batch(args: argparse.Namespace, console: Console) -> int:
    fmt = args.format or "ply"
    outdir = Path(args.output)
    items = batch_items(Path(args.source), outdir, fmt)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{outdir}: cannot create the output folder ({exc.strerror}); choose another -o"
        ) from None
    if not os.access(outdir, os.W_OK):
        raise OutputError(f"{outdir}: output folder is not writable; choose another -o")
    rows: list[dict[str, Any]] = [
        {"input": printable(str(i)), "output": printable(str(o)), "status": "pending", "error": ""}
        for i, o in items
    ]
    todo: list[int] = []
    for k, (_inp, out) in enumerate(items):
        if out.exists() and not args.force:
            rows[k]["status"] = "skipped"
        else:
            todo.append(k)
    rec = make_reconstructor(args, console)
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
                    **quality_row(result),
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
    write_summary(outdir, rows)
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
