"""``python -m export``: training or published checkpoints -> cmp-edge ONNX bundle.

Examples::

    python -m export --ckpt runs/sup/last.pt -o model.onnx
    python -m export --ckpt runs/distill/last.pt -o distilled.onnx --with-image
    python -m export --ckpt voice_embedding.pth --decoder decoder.pth \\
        --face-tensors 2D-to-3D-pretrained.tar [--triangles tri.npy] -o cmp_supervised.onnx

Every export is checked with ONNX Runtime against PyTorch (max abs diff printed;
more than 1e-4 on the whitened parameters fails and writes nothing).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m export",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--ckpt", required=True, help="RUN/last.pt, or voice_embedding.pth (published)")
    p.add_argument("--decoder", help="published supervised decoder state dict (.pth)")
    p.add_argument("--face-tensors", help="published 2D-to-3D-pretrained.tar (BFM tensors)")
    p.add_argument("--triangles", help="(F, 3) triangles for the published face model (.npy/.txt)")
    p.add_argument("--face-model", help="face-model file the checkpoint was trained with")
    p.add_argument("-o", "--output", required=True, help="output .onnx")
    p.add_argument("--with-image", action="store_true", help="distilled: also output the image")
    p.add_argument("--fp16", action="store_true", help="also write MODEL.fp16.onnx")
    p.add_argument("--int8", action="store_true", help="also write MODEL.int8.onnx (dynamic)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="parity tolerance (default 1e-4)")
    return p


def _load_triangles(path: str) -> Any:
    import numpy as np

    p = Path(path)
    if p.suffix == ".npy":
        return np.load(p)
    if p.suffix == ".mat":
        from scipy.io import loadmat

        mat = loadmat(p)
        key = next(k for k in mat if not k.startswith("__"))
        tri = np.asarray(mat[key])
        tri = tri.T if tri.shape[0] == 3 and tri.shape[1] != 3 else tri
        return tri - tri.min()  # 1-based MATLAB files
    return np.loadtxt(p, dtype=np.int64)


def run(args: argparse.Namespace) -> list[str]:
    """Do the export described by parsed ``args``; return report lines."""
    from cmp_edge.facemodel import FaceModel
    from export.checkpoints import load_published, load_training_checkpoint
    from export.core import bundle_metadata, export_onnx, quantize_variant

    out = Path(args.output)
    if out.suffix != ".onnx":
        raise ValueError(f"{out}: the output must end in .onnx")
    published = args.decoder or args.face_tensors
    fm_file: str | None = None
    if published:
        if not (args.decoder and args.face_tensors):
            raise ValueError("--decoder and --face-tensors go together (published conversion)")
        triangles = _load_triangles(args.triangles) if args.triangles else None
        src = load_published(args.ckpt, args.decoder, args.face_tensors, triangles)
        fm = src.face_model
        fm_path = out.with_name(out.stem + ".facemodel.npz")
        fm.save(fm_path)
        fm_file = fm_path.name
    else:
        src = load_training_checkpoint(args.ckpt)
        if args.face_model:
            fm = FaceModel.load(args.face_model)
        else:
            fm = FaceModel.default()
        fm.check_matches(
            src.face_model_id,
            where=args.face_model or "default face model",
            needed_by=f"checkpoint {args.ckpt}",
            fix="pass the face model it was trained with (--face-model)",
        )
        if args.face_model:
            fm_path = out.with_name(out.stem + ".facemodel.npz")
            fm.save(fm_path)
            fm_file = fm_path.name
    meta = bundle_metadata(
        kind=src.kind,
        param_mean=src.param_mean,
        param_std=src.param_std,
        face_model_id=fm.id,
        face_model_dims=fm.dims,
        provenance=src.provenance,
        face_model_file=fm_file,
    )
    with_image = bool(args.with_image)
    if with_image and src.kind != "distill":
        raise ValueError("--with-image applies to distilled checkpoints only")
    report = export_onnx(src.net, out, meta, with_image=with_image, tolerance=args.tolerance)
    for variant, wanted in (("fp16", args.fp16), ("int8", args.int8)):
        if wanted:
            quantize_variant(src.net, out, variant, report)
    lines = report.lines()
    if fm_file:
        lines.append(f"wrote face model {out.with_name(fm_file)} (id {fm.id})")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        lines = run(args)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"export: error: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
