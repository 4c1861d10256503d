"""Evaluation on held-out identities (the A-E test split): ARE, keypoint error, consistency.

Methods, in table order:

- ``mean shape`` (oracle): the mean face parameters of the training identities;
- ``gender mean`` (oracle): the mean of the training identities of the same gender;
- each ``--ckpt``: a ``supervised`` checkpoint (encoder + decoder), a ``distill``
  checkpoint trained with ``--mode joint`` (encoder -> generator -> student) or with
  ``--mode gan``, which is evaluated as the *cascade baseline* (its generator followed
  by its frozen expert, no joint training), or an ``expert`` checkpoint, evaluated on
  each test identity's own photo (``faces/<name>/0.png``; no voice): how much geometry
  the image-to-3DMM teacher reads from a real picture, an upper bound for the
  distilled path.

For every test identity the reference mesh is the face model's reconstruction of its
first face's parameters (``--reference xyz``: the first .xyz file instead). Up to
``--utterances`` utterances per identity are run whole (repeat-padded to 1000 frames);
ARE (ER/FR/MR/CR and their mean, :func:`cmp_edge.metrics.are`) is averaged over the
utterances, then over identities (:func:`cmp_edge.metrics.aggregate_are`).
The keypoint error (:func:`cmp_edge.metrics.keypoint_rmse` over the face model's 68
landmarks ``ibug_00`` .. ``ibug_67``, the prediction scaled to the reference's OICD,
normalised by the reference landmarks' sqrt(h * w)) is averaged the same way; it is
reported as ``keypoint`` (null and "-" in the table when the face model does not carry
all 68 ibug landmarks).
Consistency (:func:`cmp_edge.metrics.consistency`) compares the spread of one speaker's
meshes across utterances with the spread between speakers, on a fixed random subset of
``--consistency-vertices`` vertices (mm for the default face model).
Point-based and region-based errors (:mod:`train.eval_points`): the face's vertices
(the face model's facial regions) aligned by Procrustes without and with scale, mean
and median point-to-point distance in mm (``point``: ``rigid`` / ``scaled``) and the
mean distance per region (``regions``), averaged like ARE; ``--heatmap PNG`` draws each
method's mean rigid error per vertex on the mean face.

Usage: ``python -m train.evaluate --data DIR --ckpt RUN/last.pt [--ckpt ...] --json OUT
[--heatmap PNG]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cmp_edge._safe.atomic import atomic_write
from cmp_edge.errors import CmpEdgeError
from train.common import corpus_face_model_id, load_face_model
from train.data import VoxCeleb3D, load_png, load_xyz
from train.engine import load_checkpoint
from train.eval_points import PointAccumulator, model_regions_or_none, write_heatmap
from train.models import (
    EXPERT_INPUT_SIZE,
    STUDENT_SHAPE_EXPR,
    Generator,
    MobileNetV2,
    SupervisedDecoder,
    TorchFaceModel,
    VoiceEncoder,
    resize_for_expert,
)
from train.samplers import images_to_tensor

__all__ = ["evaluate", "format_table", "main"]

Predictor = Callable[[np.ndarray], np.ndarray]  # (T, 64) features -> (51,) un-whitened
ImagePredictor = Callable[[np.ndarray], np.ndarray]  # (H, W, 3) uint8 -> (51,) un-whitened


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.evaluate",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", type=Path, required=True, help="data folder (Voxceleb-3D layout)")
    p.add_argument("--ckpt", type=Path, action="append", default=[], help="checkpoint (repeat)")
    p.add_argument("--json", type=Path, required=True, help="output JSON file")
    p.add_argument("--face-model", default="default", help="face model file or 'default'")
    p.add_argument("--utterances", type=int, default=3, help="utterances per identity")
    p.add_argument("--reference", choices=("params", "xyz"), default="params")
    p.add_argument("--consistency-vertices", type=int, default=2000)
    p.add_argument("--features", choices=("auto", "mfcc", "wav"), default="auto")
    p.add_argument("--audio", type=Path, help="raw audio root for --features wav")
    p.add_argument("--scale", type=float, default=1.0, help="scale of the oracle predictions")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="seed of the vertex subset")
    p.add_argument("--heatmap", type=Path, help="write a PNG of each method's mean error map")
    p.add_argument("--heatmap-size", type=int, default=256, help="pixels per heat-map view")
    return p


def _unwhiten(ckpt: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    mean = np.asarray(ckpt["param_mean"], dtype=np.float64)
    std = np.asarray(ckpt["param_std"], dtype=np.float64)
    if mean.shape != (51,) or std.shape != (51,):
        raise CmpEdgeError("checkpoint param_mean/param_std must have 51 entries")
    return mean, std


def _mobilenet(ckpt: dict[str, Any], name: str) -> MobileNetV2:
    cfg = ckpt["config"]
    net = MobileNetV2(float(cfg["mobilenet_width"]), int(cfg["mobilenet_last_channel"]))
    net.load_state_dict(ckpt["model"][name])
    return net.eval()


def load_predictor(
    path: Path, device: torch.device, ckpt: dict[str, Any] | None = None
) -> tuple[str, str, Predictor]:
    """(method label, method kind, predictor) of a voice-to-face checkpoint (``ckpt``:
    its already loaded contents)."""
    ckpt = load_checkpoint(path) if ckpt is None else ckpt
    kind, cfg, run = ckpt["kind"], ckpt["config"], path.parent.name or str(path)
    if kind not in ("supervised", "distill"):
        raise CmpEdgeError(f"{path}: a {kind!r} checkpoint does not map voices to faces")
    mean, std = _unwhiten(ckpt)
    enc = VoiceEncoder(float(cfg["encoder_width"]))
    enc.load_state_dict(ckpt["model"]["voice_encoder"])
    enc = enc.eval().to(device)
    if kind == "supervised":
        dec = SupervisedDecoder(dropout=float(cfg["dropout"]))
        dec.load_state_dict(ckpt["model"]["decoder"])
        dec = dec.eval().to(device)

        def net(x: torch.Tensor) -> torch.Tensor:
            return dec(enc(x))

        label, method = f"supervised ({run})", "supervised"
    else:
        gen = Generator(float(cfg["generator_width"]))
        gen.load_state_dict(ckpt["model"]["generator"])
        gen = gen.eval().to(device)
        cascade = cfg["mode"] == "gan"
        img_net = _mobilenet(ckpt, "expert" if cascade else "student").to(device)

        def net(x: torch.Tensor) -> torch.Tensor:
            out = img_net(resize_for_expert(gen(enc(x))))[:, STUDENT_SHAPE_EXPR]
            return torch.cat([torch.zeros_like(out[:, :1]), out], dim=1)

        if cascade:
            label, method = f"baseline: generator + expert ({run})", "cascade"
        else:
            label, method = f"distilled ({run})", "distill"

    def predict(features: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(features.T[None], dtype=np.float32))
        with torch.no_grad():
            p = net(x.to(device))[0].double().cpu().numpy()
        return p * std + mean

    return label, method, predict


def load_image_predictor(
    path: Path, device: torch.device, ckpt: dict[str, Any] | None = None
) -> tuple[str, ImagePredictor]:
    """(method label, predictor) of an ``expert`` checkpoint (``ckpt``: its already
    loaded contents): (H, W, 3) uint8 photo -> (51,) un-whitened parameters (scale
    entry: the checkpoint's mean scale)."""
    ckpt = load_checkpoint(path) if ckpt is None else ckpt
    if ckpt["kind"] != "expert":
        raise CmpEdgeError(f"{path}: a {ckpt['kind']!r} checkpoint is not an expert")
    mean, std = _unwhiten(ckpt)
    net = _mobilenet(ckpt, "expert").to(device)

    def predict(image: np.ndarray) -> np.ndarray:
        x = images_to_tensor([image], EXPERT_INPUT_SIZE).to(device)
        with torch.no_grad():
            out = net(x)[0, STUDENT_SHAPE_EXPR].double().cpu().numpy()
        return np.concatenate([[0.0], out]) * std + mean

    return f"expert on the photo ({path.parent.name or path})", predict


def _pad(features: np.ndarray, pad_to: int = 1000) -> np.ndarray:
    from cmp_edge.features import repeat_pad

    return np.asarray(repeat_pad(features, pad_to), dtype=np.float32)


def _photo(speaker: Any) -> np.ndarray:
    """The first face image of a test identity, (H, W, 3) uint8."""
    png = speaker.faces[0].with_suffix(".png")
    if not png.is_file():
        raise CmpEdgeError(f"{png}: missing; an expert checkpoint is evaluated on the photos")
    return load_png(png)


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Run every method on the test split and return the JSON-ready result."""
    from cmp_edge import metrics

    device = torch.device(args.device)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise CmpEdgeError("--device cuda: no CUDA device is available to torch")
    common = {"features": args.features, "audio_root": args.audio, "scale": args.scale}
    test = VoxCeleb3D(args.data, "test", **common)
    train = VoxCeleb3D(args.data, "train", **common)
    fm = load_face_model(args.face_model)
    corpus_id = corpus_face_model_id(args.data)
    if corpus_id is not None and corpus_id != str(fm.id):
        raise CmpEdgeError(f"{args.data}: corpus face model {corpus_id!r}, loaded {fm.id!r}")
    width_names = [n for pair in metrics.WIDTH_PAIRS.values() for n in pair]
    missing = [n for n in width_names if n not in fm.landmarks]
    if missing:
        raise CmpEdgeError(f"face model {fm.id!r} lacks the ARE landmarks {missing}")
    n_all = int(np.asarray(fm.mean).reshape(-1, 3).shape[0])
    rng = np.random.default_rng(args.seed)
    k = min(max(args.consistency_vertices, 0), n_all)
    subset = sorted(
        set(rng.choice(n_all, size=k, replace=False).tolist())
        | {int(fm.landmarks[n]) for n in width_names}
    )
    ibug_names = [f"ibug_{i:02d}" for i in range(68)]
    has_ibug = all(n in fm.landmarks for n in ibug_names)
    if has_ibug:
        subset = sorted(set(subset) | {int(fm.landmarks[n]) for n in ibug_names})
    regions = model_regions_or_none(fm)
    if regions is not None and not regions.face.any():
        regions = None
    face_idx = np.flatnonzero(regions.face) if regions is not None else np.arange(n_all)
    evaluated = sorted(set(subset) | set(face_idx.tolist()))
    position = {v: i for i, v in enumerate(evaluated)}
    sub_pos = np.array([position[v] for v in subset])
    face_pos = np.array([position[int(v)] for v in face_idx])
    face_regions = (
        metrics.Regions(regions.names, regions.labels[face_idx], regions.source)
        if regions is not None
        else None
    )
    landmarks = {n: position[int(fm.landmarks[n])] for n in width_names}
    kp_landmarks = (
        {n: position[int(fm.landmarks[n])] for n in [*ibug_names, "oicd_left", "oicd_right"]}
        if has_ibug
        else None
    )
    layer = TorchFaceModel(fm, evaluated)

    def mesh(params: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.as_tensor(np.asarray(params, dtype=np.float32)[None])
            return layer(t)[0].double().numpy()

    refs: dict[str, np.ndarray] = {}
    for sp in test.speakers:
        if args.reference == "xyz":
            xyz = load_xyz(sp.faces[0].with_suffix(".xyz"))
            if xyz.shape[0] != n_all:
                raise CmpEdgeError(
                    f"{sp.faces[0].with_suffix('.xyz')}: {xyz.shape[0]} vertices, the face "
                    f"model has {n_all}"
                )
            refs[sp.identity.name] = xyz[evaluated].astype(np.float64)
        else:
            refs[sp.identity.name] = mesh(sp.targets[0])
    feats = {
        sp.identity.name: [_pad(test.features(u)) for u in sp.utterances[: args.utterances]]
        for sp in test.speakers
    }
    all_t = train.all_targets().astype(np.float64)
    face_gender = np.concatenate([[sp.identity.gender] * len(sp.targets) for sp in train.speakers])
    mean_shape = all_t.mean(axis=0)
    by_gender = {
        g: all_t[face_gender == g].mean(axis=0) if np.any(face_gender == g) else mean_shape
        for g in ("m", "f")
    }
    gender_of = {sp.identity.name: sp.identity.gender for sp in test.speakers}

    methods: list[tuple[str, str, str | None, Callable[[str, np.ndarray], np.ndarray]]] = [
        ("mean shape", "oracle", None, lambda name, f: mean_shape),
        ("gender mean", "oracle", None, lambda name, f: by_gender[gender_of[name]]),
    ]
    for path in args.ckpt:
        ckpt = load_checkpoint(path)
        ck_id = str(ckpt["face_model_id"])
        if ck_id != str(fm.id):
            raise CmpEdgeError(f"{path}: trained for face model {ck_id!r}, evaluating {fm.id!r}")
        if ckpt["kind"] == "expert":
            label, see = load_image_predictor(path, device, ckpt)
            guess = {sp.identity.name: see(_photo(sp)) for sp in test.speakers}
            methods.append((label, "expert", str(path), _by_name(guess)))
            continue
        label, kind, predict = load_predictor(path, device, ckpt)
        methods.append((label, kind, str(path), _on_features(predict)))

    results = []
    heat: dict[str, np.ndarray] = {}
    for label, kind, path, fn in methods:
        per_id: dict[str, list[dict[str, float]]] = {}
        meshes: dict[str, np.ndarray] = {}
        kp_per_id: list[float] = []
        points = PointAccumulator(face_regions, len(face_idx))
        for name, utts in feats.items():
            preds = [mesh(fn(name, f)) for f in utts]
            meshes[name] = np.stack(preds)[:, sub_pos]
            per_id[name] = [metrics.are(p, refs[name], landmarks) for p in preds]
            if kp_landmarks is not None:
                kp = [metrics.keypoint_rmse(p, refs[name], kp_landmarks) for p in preds]
                kp_per_id.append(float(np.mean(kp)))
            points.add([p[face_pos] for p in preds], refs[name][face_pos])
        agg = metrics.aggregate_are(per_id, args.utterances)
        keypoint = float(np.mean(kp_per_id)) if kp_per_id else None
        cons = metrics.consistency(meshes)
        heat[label] = points.per_vertex()
        results.append(
            {
                "method": label,
                "kind": kind,
                "ckpt": path,
                **{k: float(v) for k, v in agg.items()},
                "keypoint": keypoint,
                "point": points.summary(),
                "regions": points.region_summary(),
                "consistency": {
                    "within_mean": _finite(cons["within_mean"]),
                    "between_mean": _finite(cons["between_mean"]),
                    "ratio": _finite(cons["ratio"]),
                },
            }
        )
    heatmap = None
    if getattr(args, "heatmap", None) is not None:
        heatmap = write_heatmap(
            args.heatmap, fm, face_idx, heat, size=getattr(args, "heatmap_size", 256)
        )
    return {
        "data": str(args.data),
        "face_model_id": str(fm.id),
        "test_identities": len(test),
        "utterances_per_identity": args.utterances,
        "reference": args.reference,
        "consistency_vertices": len(subset),
        "point_vertices": len(face_idx),
        "regions_source": regions.source if regions is not None else None,
        "heatmap": heatmap,
        "methods": results,
    }


def _num(v: float | None, width: int = 8, digits: int = 3) -> str:
    return f"{v:{width}.{digits}f}" if v is not None else f"{'-':>{width}}"


def format_table(result: dict[str, Any]) -> str:
    """Plain-text tables: ARE per method, relative change vs the mean shape, keypoint
    error, point-based error (mm; rigid and scaled, mean / median) and consistency
    (within / between speaker spread); then the mean rigid error per region (mm)."""
    rows = result["methods"]
    base = next((r["mean"] for r in rows if r["method"] == "mean shape"), None)
    head = f"{'method':<44} {'ER':>7} {'FR':>7} {'MR':>7} {'CR':>7} {'mean':>7} {'vs mean':>8}"
    head += f" {'keypoint':>8} {'pt mean':>7} {'pt med':>7} {'pt+s mn':>7} {'pt+s md':>7}"
    head += f" {'within':>8} {'between':>8}"
    lines = [
        f"{result['test_identities']} test identities, <= {result['utterances_per_identity']} "
        f"utterances each, face model {result['face_model_id']}",
        head,
        "-" * len(head),
    ]
    for r in rows:
        rel = f"{100 * (r['mean'] / base - 1):+7.1f}%" if base else f"{'':>8}"
        c = r["consistency"]
        pt = r.get("point") or {}
        rig, sca = pt.get("rigid") or {}, pt.get("scaled") or {}
        lines.append(
            f"{r['method'][:44]:<44} {r['ER']:7.4f} {r['FR']:7.4f} {r['MR']:7.4f} "
            f"{r['CR']:7.4f} {r['mean']:7.4f} {rel} {_num(r.get('keypoint'), 8, 4)} "
            f"{_num(rig.get('mean'), 7, 2)} {_num(rig.get('median'), 7, 2)} "
            f"{_num(sca.get('mean'), 7, 2)} {_num(sca.get('median'), 7, 2)} "
            f"{_num(c['within_mean'])} {_num(c['between_mean'])}"
        )
    names = next((list(r["regions"]["rigid"]) for r in rows if r.get("regions")), None)
    if names:
        head = f"{'region error, rigid, mm':<44}" + "".join(f" {n[:8]:>8}" for n in names)
        lines += ["", head, "-" * len(head)]
        for r in rows:
            reg = (r.get("regions") or {}).get("rigid") or {}
            lines.append(f"{r['method'][:44]:<44}" + "".join(f" {_num(reg.get(n))}" for n in names))
    return "\n".join(lines)


def _by_name(table: dict[str, np.ndarray]) -> Callable[[str, np.ndarray], np.ndarray]:
    """A method answering each identity (by name) with a fixed prediction."""
    return lambda name, features: table[name]


def _on_features(
    predict: Callable[[np.ndarray], np.ndarray],
) -> Callable[[str, np.ndarray], np.ndarray]:
    """A method answering each utterance from its (T, 64) features."""
    return lambda name, features: predict(features)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: evaluate, write the JSON, print the table."""
    args = _parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    try:
        result = evaluate(args)
        with atomic_write(args.json) as handle:
            handle.write(json.dumps(result, indent=2).encode())
    except (CmpEdgeError, OSError) as exc:
        print(f"train.evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
