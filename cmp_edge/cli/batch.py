"""``cmp-edge batch``: many files, resumable, with a summary."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmp_edge._safe.names import printable
from cmp_edge.cli.console import PROG, Console, cli_words
from cmp_edge.cli.manifest import batch_items
from cmp_edge.cli.options import make_reconstructor
from cmp_edge.cli.report import QUALITY_COLUMNS, quality_row
from cmp_edge.errors import CmpEdgeError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.face import Face


#: Columns of summary.csv (and keys of the summary.json rows).
SUMMARY_FIELDS = [
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


def write_summary(outdir: Path, rows: list[dict[str, Any]]) -> None:
    import csv
    import io
    import json

    from cmp_edge._safe.atomic import atomic_write

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in SUMMARY_FIELDS})
    with atomic_write(outdir / "summary.csv") as handle:
        handle.write(buf.getvalue().encode())
    with atomic_write(outdir / "summary.json") as handle:
        handle.write((json.dumps(rows, indent=1) + "\n").encode())


def previous_rows(outdir: Path) -> dict[str, dict[str, Any]]:
    """Rows of an earlier run's summary.json by input (empty when absent or unreadable)."""
    import json

    try:
        data = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, list):
        return {}
    return {
        str(row["input"]): row
        for row in data
        if isinstance(row, dict) and isinstance(row.get("input"), str)
    }


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
    earlier = previous_rows(outdir)
    for k, (inp, out) in enumerate(items):
        if out.exists() and not args.force:
            # resumed: keep what the earlier run measured for this output
            before = earlier.get(printable(str(inp)), {})
            if before.get("output") == printable(str(out)) and before.get("status") == "ok":
                rows[k].update({f: before[f] for f in SUMMARY_FIELDS[4:] if f in before})
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
                console.debug(f"{PROG}: error: {cli_words(str(result))}")
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
