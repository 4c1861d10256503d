"""``python -m cmp_edge.facemodel``: face-model tools.

python -m cmp_edge.facemodel convert IN OUT.npz [--force]
python -m cmp_edge.facemodel info IN
python -m cmp_edge.facemodel build-default ICT_FOLDER [-o OUT.npz] [--force]
"""

from __future__ import annotations

import argparse
import sys

from cmp_edge.errors import CmpEdgeError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cmp_edge.facemodel")
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="convert a face model to cmp-edge .npz")
    conv.add_argument(
        "input",
        help="BFM .mat, SFM .bin, SynergyNet/3DDFA file, ICT-FaceKit FaceXModel folder, "
        ".npz, or 'default'",
    )
    conv.add_argument("output", help="output .npz")
    conv.add_argument("--force", action="store_true", help="overwrite an existing output")
    info = sub.add_parser("info", help="print a face model's sizes and landmarks")
    info.add_argument(
        "input",
        help="a face-model file (BFM .mat, SFM .bin, SynergyNet/3DDFA file, cmp-edge .npz), "
        "an ICT FaceXModel folder, or 'default' for the built-in model",
    )
    build = sub.add_parser(
        "build-default",
        help="build the default head from the ICT Face Model Light (cmp_edge.facemodel.ict_head)",
    )
    build.add_argument("input", help="the ICT-FaceKit FaceXModel folder")
    build.add_argument(
        "-o", "--output", default=None, help="output .npz (default: the packaged ict-head.npz)"
    )
    build.add_argument("--force", action="store_true", help="overwrite an existing output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (errors are printed as one line)."""
    parser = _parser()
    args = parser.parse_args(argv)

    from cmp_edge.facemodel.model import FaceModel

    try:
        if args.command == "build-default":
            from cmp_edge.facemodel.ict_head import build_head
            from cmp_edge.facemodel.packaged import packaged_path

            model = FaceModel(**build_head(args.input))
            out = args.output or str(packaged_path())
        else:
            model = FaceModel.default() if args.input == "default" else FaceModel.load(args.input)
            out = getattr(args, "output", None)
        if args.command in ("convert", "build-default"):
            if not str(out).endswith(".npz"):
                raise CmpEdgeError(f"{out}: the output must end in .npz")
            model.save(out, overwrite=args.force)
            print(f"wrote {out}: {model}")
        else:
            print(model)
            print(
                f"landmarks: {len(model.landmarks)} ({', '.join(sorted(model.landmarks)[:8])}...)"
            )
            if model.regions:
                sizes = ", ".join(f"{k} {len(v)}" for k, v in model.regions.items())
                print(f"regions: {sizes}")
    except CmpEdgeError as exc:  # bad files or data: 1 (argparse exits 2 for bad usage)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
