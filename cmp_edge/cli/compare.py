"""``cmp-edge compare PRED REF``: point-based and region-based error of a mesh against a reference.

Meshes of one topology (equal vertex counts) are aligned by Procrustes; others by
trimmed point-to-surface ICP onto REF's triangles, started from landmarks when
``--ref-landmarks`` (and, unless PRED is a face-model mesh with ibug landmarks,
``--pred-landmarks``) are given. When PRED has the vertex count of the face model
(``--face-model``, default: the built-in one) its facial regions are used: the fit
and the statistics cover the face, and the error is reported per region.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge.cli.console import Console
from cmp_edge.errors import CmpEdgeError, MeshError

__all__ = ["add_compare_parser", "cmd_compare"]

_MAX_LANDMARK_BYTES = 1 << 20


def add_compare_parser(sub: Any) -> None:
    """Register the ``compare`` subcommand on ``sub`` (argparse subparsers)."""
    p = sub.add_parser("compare", help="error of a mesh against a reference mesh (e.g. a scan)")
    p.add_argument("pred", metavar="PRED", help="predicted mesh (.ply/.obj/.off/.stl), mm")
    p.add_argument("ref", metavar="REF", help="reference mesh (.ply/.obj/.off/.stl), mm")
    p.add_argument("--heatmap", metavar="PNG", help="write PRED coloured by its error (rigid)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--face-model",
        metavar="FILE",
        help="face model whose regions PRED has (default: the built-in one, if it fits)",
    )
    p.add_argument("--ref-landmarks", metavar="TXT", help="REF landmarks, one 'x y z' per line")
    p.add_argument(
        "--pred-landmarks",
        metavar="TXT",
        help="PRED landmarks, same points and order (default: the face model's 68 ibug)",
    )
    p.add_argument("--trim", type=float, default=0.1, help="ICP outlier fraction (default 0.1)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --heatmap file")
    v = p.add_mutually_exclusive_group()
    v.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    v.add_argument("-v", "--verbose", action="store_true", help="print details")


def _read_landmarks(path: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise MeshError(f"{p}: landmark file not found; check the path")
    if p.stat().st_size > _MAX_LANDMARK_BYTES:
        raise MeshError(f"{p}: too large for a landmark file (one 'x y z' line per point)")
    try:
        pts = np.loadtxt(p, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise MeshError(f"{p}: not 'x y z' lines ({exc}); write one point per line") from None
    if pts.shape[1] != 3 or len(pts) < 3 or not np.all(np.isfinite(pts)):
        raise MeshError(f"{p}: need >= 3 finite 'x y z' lines, got shape {pts.shape}")
    return pts


def _face_model(spec: str | None, n_vertices: int, console: Console) -> Any | None:
    from cmp_edge.facemodel.model import FaceModel

    fm = FaceModel.default() if spec is None else FaceModel.load(spec)
    if fm.n_vertices != n_vertices:
        if spec is not None:
            raise MeshError(
                f"{spec}: the face model has {fm.n_vertices} vertices, PRED {n_vertices}; "
                "give the face model PRED was made with"
            )
        console.debug("PRED is not a mesh of the built-in face model: no regions")
        return None
    return fm


def _text(result: dict[str, Any]) -> str:
    lines = [f"alignment: {result['method']} (error of PRED's vertices against REF, mm)"]
    for key, title in (("rigid", "rigid (rotation + translation)"), ("scaled", "with scale")):
        r = result[key]
        lines.append(
            f"  {title:32s} mean {r['mean']:8.3f}  median {r['median']:8.3f}  "
            f"rms {r['rms']:8.3f}  ({r['vertices']} vertices, scale {r['alignment']['scale']:.4f})"
        )
    if result.get("regions"):
        lines.append(
            f"  {'region':12s} {'rigid mean':>10} {'scaled mean':>11} {'vertices':>9}"
            "  (every vertex of the region, untrimmed)"
        )
        for name, row in result["regions"]["rigid"].items():
            scaled = result["regions"]["scaled"][name]["mean"]
            lines.append(
                f"  {name:12s} {row['mean']:10.3f} {scaled:11.3f} {int(row['vertices']):9d}"
            )
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    """Run ``cmp-edge compare``."""
    import json

    from cmp_edge.metrics import compare_meshes, error_heatmap, load_mesh, model_regions

    if not 0.0 <= args.trim < 0.9:
        raise CmpEdgeError(f"--trim {args.trim}: must be in [0, 0.9)")
    heatmap = Path(args.heatmap) if args.heatmap else None
    if heatmap is not None:
        from cmp_edge.cli.outputs import check_new

        check_new([heatmap], args.force)
    pred, pred_tri = load_mesh(args.pred)
    ref, ref_tri = load_mesh(args.ref)
    fm = _face_model(args.face_model, len(pred), console)
    regions = model_regions(fm) if fm is not None else None
    ref_lm = _read_landmarks(args.ref_landmarks) if args.ref_landmarks else None
    pred_lm: np.ndarray | None = None
    if args.pred_landmarks:
        pred_lm = _read_landmarks(args.pred_landmarks)
    elif ref_lm is not None and fm is not None:
        names = [f"ibug_{i:02d}" for i in range(68)]
        if all(n in fm.landmarks for n in names) and len(ref_lm) == 68:
            pred_lm = pred[[fm.landmarks[n] for n in names]]
    if (ref_lm is None) != (pred_lm is None):
        raise CmpEdgeError(
            "--ref-landmarks needs landmarks on PRED too: give --pred-landmarks (or 68 ibug "
            "points with a face-model mesh as PRED)"
        )
    if len(pred) != len(ref) and len(ref_tri) == 0:
        raise MeshError(f"{args.ref}: has no triangles; ICP needs REF's surface")
    try:
        result = compare_meshes(
            pred,
            ref,
            ref_triangles=ref_tri if len(ref_tri) else None,
            pred_landmarks=pred_lm,
            ref_landmarks=ref_lm,
            regions=regions,
            trim=args.trim,
        )
    except (ValueError, IndexError) as exc:
        if isinstance(exc, CmpEdgeError):
            raise
        raise CmpEdgeError(f"{args.pred}, {args.ref}: cannot compare ({exc})") from None
    summary = result.to_dict()
    if heatmap is not None:
        from cmp_edge.output.render import write_png

        err = result.rigid.per_vertex.copy()
        if regions is not None:
            err[~regions.face] = np.nan
        finite = err[np.isfinite(err)]
        vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
        image = error_heatmap(pred, pred_tri, err, vmax=vmax, size=384)
        write_png(heatmap, image, overwrite=args.force)
        summary["heatmap"] = {"path": str(heatmap), "vmax_mm": vmax, "alignment": "rigid"}
    if args.json:
        print(json.dumps(summary, indent=2), file=console.out)
    else:
        console.info(_text(summary))
        if heatmap is not None:
            console.info(f"heat map: {heatmap} (rigid error: dark blue 0 mm ... red {vmax:.2f} mm)")
    return 0
