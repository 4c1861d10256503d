"""``cmp-edge info``: a bundle's metadata."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cmp_edge.cli.console import Console
from cmp_edge.cli.options import DEFAULT_MODEL_NOTE

if TYPE_CHECKING:  # pragma: no cover
    pass


def cmd_info(args: argparse.Namespace, console: Console) -> int:
    import json

    from cmp_edge.facemodel.packaged import ATTRIBUTION, DEFAULT_ID
    from cmp_edge.model.bundle import read_bundle

    info = read_bundle(args.model, option="`cmp-edge info`")
    summary = info.summary()
    if info.face_model_id == DEFAULT_ID:  # the packaged ICT head: credit its source
        summary["face_model_source"] = ATTRIBUTION
    if args.json:
        print(json.dumps(summary, indent=2), file=console.out)
        return 0
    for key, value in summary.items():
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        print(f"{key:16s} {text}", file=console.out)
    if args.model is None:
        print(DEFAULT_MODEL_NOTE, file=console.out)
    return 0
