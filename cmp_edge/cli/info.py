"""``cmp-edge info``: a bundle's metadata."""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import Any, TextIO

from cmp_edge.cli.console import Console
from cmp_edge.cli.options import DEFAULT_MODEL_NOTE


def _section(title: str, rows: dict[str, Any], out: TextIO) -> None:
    print(f"{title}:", file=out)
    width = max((len(k) for k in rows), default=0)
    for key, value in rows.items():
        if isinstance(value, dict):
            text = ", ".join(f"{k}={_short(v)}" for k, v in value.items())
        elif isinstance(value, list):
            text = _short(value)
        else:
            text = str(value)
        lines = textwrap.wrap(text, 100 - width - 4) or [""]
        print(f"  {key:{width}s}  {lines[0]}", file=out)
        for more in lines[1:]:
            print(f"  {'':{width}s}  {more}", file=out)


def _short(value: Any, limit: int = 90) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cmd_info(args: argparse.Namespace, console: Console) -> int:
    """Print a bundle's metadata in readable sections (``--json``: one JSON document)."""
    from cmp_edge.facemodel.packaged import ATTRIBUTION, DEFAULT_ID
    from cmp_edge.model.bundle import read_bundle

    info = read_bundle(args.model, option="`cmp-edge info`")
    summary = info.summary()
    if info.face_model_id == DEFAULT_ID:  # the packaged ICT head: credit its source
        summary["face_model_source"] = ATTRIBUTION
    if args.json:
        print(json.dumps(summary, indent=2, default=str), file=console.out)
        return 0
    provenance = summary.pop("provenance", None)
    _section("model", summary, console.out)
    if isinstance(provenance, dict) and provenance:
        flat = {k: v for k, v in provenance.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in provenance.items() if isinstance(v, dict)}
        if flat:
            _section("provenance", flat, console.out)
        for key, value in nested.items():
            _section(f"provenance.{key}", value, console.out)
    if args.model is None:
        print(f"note: {DEFAULT_MODEL_NOTE}", file=console.out)
    return 0
