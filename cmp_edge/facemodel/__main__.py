"""``python -m cmp_edge.facemodel``: face-model tools.

python -m cmp_edge.facemodel convert IN OUT.npz [--force]
python -m cmp_edge.facemodel info IN
"""

from __future__ import annotations

import argparse
import sys

from cmp_edge.errors import CmpEdgeError


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (errors are printed as one line)."""
    parser = argparse.ArgumentParser(prog="python -m cmp_edge.facemodel")
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="convert a face model to cmp-edge .npz")
    conv.add_argument("input", help="BFM .mat, SFM .bin, SynergyNet/3DDFA file, .npz, or 'default'")
    conv.add_argument("output", help="output .npz")
    conv.add_argument("--force", action="store_true", help="overwrite an existing output")
    info = sub.add_parser("info", help="print a face model's sizes and landmarks")
    info.add_argument(
        "input",
        help="a face-model file (BFM .mat, SFM .bin, SynergyNet/3DDFA file, cmp-edge .npz) "
        "or 'default' for the built-in model",
    )
    args = parser.parse_args(argv)

    from cmp_edge.facemodel.model import FaceModel

    try:
        model = FaceModel.default() if args.input == "default" else FaceModel.load(args.input)
        if args.command == "convert":
            if not str(args.output).endswith(".npz"):
                raise CmpEdgeError(f"{args.output}: the output must end in .npz")
            model.save(args.output, overwrite=args.force)
            print(f"wrote {args.output}: {model}")
        else:
            print(model)
            print(
                f"landmarks: {len(model.landmarks)} ({', '.join(sorted(model.landmarks)[:8])}...)"
            )
    except CmpEdgeError as exc:  # bad files or data: 1 (argparse exits 2 for bad usage)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
