"""The recipe of the shipped default model, ``cmp_edge/models/default.onnx``.

``python -m export.default_bundle`` runs the project's own pipeline end to end:

1. ``python -m train.synth``: a synthetic paired voice/face corpus on
   ``FaceModel.default()``, the ICT head (source-filter voices whose vocal-tract length,
   pitch and formants are coupled to the face geometry): 1200 identities
   (960 train, 240 held out) x 3 utterances of 2.5-5 s, voice/face coupling
   0.9 (the synth default is 0.8; 0.9 leaves a learnable signal a short CPU
   run can pick up), no images (about 2.7 GB of meshes in the work folder);
2. ``python -m train.supervised``: voice encoder (width 0.25, so the bundle
   stays under 1 MB) + supervised decoder trained from scratch on it, 1200
   Adam steps at lr 1e-3, batch 32, crops of 150-300 frames, no dropout and
   no triplet term (MSE only: the triplet term pushes different speakers'
   predictions apart, away from the conditional mean that minimises the
   shape error; its effect was not measured at this scale). Many
   identities are what makes it generalise: with 320 training identities the
   same network memorises them (train loss 0.65, held-out ARE -14 % vs the
   mean shape), and on this corpus 2000 steps already overfit (-19 % against
   -24 % after 1200);
3. ``python -m export``: ONNX bundle with parity check;
4. an evaluation on the corpus' held-out (A-E) identities through the
   runtime (``cmp_edge.Reconstructor`` on their WAV files): ARE of the model
   and of the mean-shape oracle (as ``train.evaluate`` computes them), shape
   coefficient error and correlation, recorded in the bundle's provenance
   next to the recipe settings, wall and CPU times.

The result is deterministic for given settings and seed up to floating-point
non-determinism of multi-threaded PyTorch training. ``--small`` runs the same
steps at toy scale (CI, tests). The default model knows synthetic voices only:
real use needs a model trained on Voxceleb-3D (``python -m train.supervised``
on the real data) or the converted published checkpoints (``python -m export
--decoder ... --face-tensors ...``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RECIPE", "SMALL", "build_default_bundle", "main"]

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "cmp_edge" / "models" / "default.onnx"

#: Settings of the committed default bundle.
RECIPE: dict[str, Any] = {
    "identities": 1200,
    "utterances": 3,
    "utterance_seconds": [2.5, 5.0],
    "coupling": 0.9,
    "steps": 1200,
    "batch_size": 32,
    "encoder_width": 0.25,
    "crop": [150, 300],
    "lr": 1e-3,
    "dropout": 0.0,
    "triplet_weight": 0.0,
    "seed": 0,
    "threads": 2,
}
#: Toy scale for CI and tests (minutes -> seconds).
SMALL: dict[str, Any] = {
    **RECIPE,
    "identities": 6,
    "utterances": 2,
    "utterance_seconds": [2.0, 2.5],
    "steps": 2,
    "batch_size": 4,
    "threads": 1,
}


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _check(code: int, what: str) -> None:
    if code != 0:
        raise RuntimeError(f"{what} failed with exit status {code}")


def evaluate(model: Path, data: Path, utterances: int = 3) -> dict[str, Any]:
    """Runtime evaluation on the held-out identities of a synthetic corpus.

    ARE (:func:`cmp_edge.metrics.are`, ER/FR/MR/CR and mean; the runtime's mesh of
    each of up to ``utterances`` WAV files per identity against the face model's mesh
    of the true parameters, averaged as :func:`cmp_edge.metrics.aggregate_are` does,
    as ``train.evaluate`` computes it) of the model and of the mean-shape oracle (the
    mean parameters of the training identities); mean absolute error of the 40 shape
    coefficients (prior units, per identity over its utterances) against the truth,
    the same for always predicting the prior mean (0), and the mean per-coefficient
    Pearson correlation across identities.
    """
    from cmp_edge import metrics
    from cmp_edge.model.layout import BFM_SHAPE
    from cmp_edge.runtime.reconstructor import Reconstructor
    from train.data import read_meta

    rec = Reconstructor(model, threads=2)
    fm = rec.face_model
    lm = {n: int(fm.landmarks[n]) for pair in metrics.WIDTH_PAIRS.values() for n in pair}

    def mesh(params: np.ndarray) -> np.ndarray:
        verts = fm.reconstruct(params[:40], params[BFM_SHAPE : BFM_SHAPE + 10], threads=2)
        return np.asarray(verts, dtype=np.float64).reshape(-1, 3)

    rows = read_meta(data / "vox1_meta.csv")
    train_params = [
        np.load(p).astype(np.float64)
        for row in rows
        if row.set_name != "test"
        for p in sorted((data / "faces" / row.name).glob("*.npy"))
    ]
    oracle_mesh = mesh(np.mean(train_params, axis=0))
    preds, truth = [], []
    are_model: dict[str, list[dict[str, float]]] = {}
    are_oracle: dict[str, list[dict[str, float]]] = {}
    for row in rows:
        if row.set_name != "test":
            continue
        name = row.name
        wavs = sorted((data / "wav" / row.vox_id).rglob("*.wav"))[:utterances]
        faces = sorted((data / "faces" / name).glob("*.npy"))
        if not wavs or not faces:
            continue
        target = np.load(faces[0]).astype(np.float64)
        ref = mesh(target)
        faces_out = [rec.predict_file(w) for w in wavs]
        are_model[name] = [metrics.are(face.vertices, ref, lm) for face in faces_out]
        are_oracle[name] = [metrics.are(oracle_mesh, ref, lm)]
        preds.append(np.mean([face.params["shape"] for face in faces_out], axis=0))
        truth.append(target[:40])
    p, t = np.asarray(preds), np.asarray(truth)
    corr = [
        float(np.corrcoef(p[:, k], t[:, k])[0, 1]) if p.shape[0] > 2 and p[:, k].std() > 0 else 0.0
        for k in range(p.shape[1])
    ]
    model_are = metrics.aggregate_are(are_model, utterances)
    oracle_are = metrics.aggregate_are(are_oracle, utterances)
    return {
        "test_identities": int(p.shape[0]),
        "utterances_per_identity": utterances,
        "are": {k: round(float(v), 5) for k, v in model_are.items()},
        "are_mean_shape_oracle": {k: round(float(v), 5) for k, v in oracle_are.items()},
        "are_change_vs_oracle": round(float(model_are["mean"] / oracle_are["mean"] - 1.0), 4),
        "shape_mae": float(np.abs(p - t).mean()),
        "shape_mae_prior_mean": float(np.abs(t).mean()),
        "shape_mean_correlation": float(np.mean(corr)),
        "shape_best_correlation": float(np.max(corr)),
    }


def _test_wavs(data: Path, per_identity: int = 3) -> list[Path]:
    from train.data import read_meta

    out: list[Path] = []
    for row in read_meta(data / "vox1_meta.csv"):
        if row.set_name == "test":
            out += sorted((data / "wav" / row.vox_id).rglob("*.wav"))[:per_identity]
    return out


def compare_variants(base: Path, variants: Sequence[Path], data: Path) -> dict[str, Any]:
    """Accuracy change of quantised variants on the corpus' held-out utterances.

    For each variant: max and mean absolute difference of the whitened parameters
    to the float32 bundle, the max vertex difference (face-model units), and sizes.
    """
    from cmp_edge.runtime.reconstructor import Reconstructor

    wavs = _test_wavs(data, per_identity=1)
    ref_rec = Reconstructor(base, threads=2)
    ref = [ref_rec.predict_file(w) for w in wavs]
    out: dict[str, Any] = {"utterances": len(wavs), "float32_bytes": base.stat().st_size}
    for path in variants:
        rec = Reconstructor(path, threads=2)
        got = [rec.predict_file(w) for w in wavs]
        dp = np.array(
            [np.abs(g.whitened - r.whitened).max() for g, r in zip(got, ref, strict=True)]
        )
        dm = np.array(
            [np.abs(g.whitened - r.whitened).mean() for g, r in zip(got, ref, strict=True)]
        )
        dv = np.array(
            [np.abs(g.vertices - r.vertices).max() for g, r in zip(got, ref, strict=True)]
        )
        out[path.name] = {
            "bytes": path.stat().st_size,
            "params_max_abs_diff": float(dp.max()),
            "params_mean_abs_diff": float(dm.mean()),
            "vertices_max_abs_diff": float(dv.max()),
        }
    return out


def build_default_bundle(
    output: Path, settings: dict[str, Any], work: Path | None = None, workers: int = 2
) -> dict[str, Any]:
    """Run synth -> supervised -> export -> evaluate; return the provenance written."""
    import train.supervised
    import train.synth
    from export.__main__ import main as export_main

    s = settings
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="cmp-edge-default-")) if work is None else work
    data, run = work / "data", work / "run"
    t0, c0 = time.perf_counter(), _cpu_seconds()
    try:
        if not (data / "synth.json").is_file():
            _check(
                train.synth.main(
                    [
                        str(data),
                        "--identities", str(s["identities"]),
                        "--utterances", str(s["utterances"]),
                        "--utterance-seconds", *map(str, s["utterance_seconds"]),
                        "--coupling", str(s["coupling"]),
                        "--seed", str(s["seed"]),
                        "--no-images",
                        "--workers", str(workers),
                        "--force",
                    ]
                ),
                "train.synth",
            )  # fmt: skip
        t_synth, c_synth = time.perf_counter() - t0, _cpu_seconds() - c0
        _check(
            train.supervised.main(
                [
                    "--data", str(data),
                    "--out", str(run),
                    "--steps", str(s["steps"]),
                    "--batch-size", str(s["batch_size"]),
                    "--encoder-width", str(s["encoder_width"]),
                    "--crop-min", str(s["crop"][0]),
                    "--crop-max", str(s["crop"][1]),
                    "--lr", str(s["lr"]),
                    "--dropout", str(s["dropout"]),
                    "--triplet-weight", str(s["triplet_weight"]),
                    "--seed", str(s["seed"]),
                    "--threads", str(s["threads"]),
                    "--progress", "off",
                    "--save-every", str(max(1, min(50, s["steps"]))),
                ]
            ),
            "train.supervised",
        )  # fmt: skip
        t_train = time.perf_counter() - t0 - t_synth
        c_train = _cpu_seconds() - c0 - c_synth
        staged = work / "default.onnx"
        _check(
            export_main(["--ckpt", str(run / "last.pt"), "-o", str(staged), "--fp16", "--int8"]),
            "export",
        )
        metrics = evaluate(staged, data)
        variants = compare_variants(
            staged, [work / "default.fp16.onnx", work / "default.int8.onnx"], data
        )
        t_all, c_all = time.perf_counter() - t0, _cpu_seconds() - c0
        recipe = {
            "recipe": "python -m export.default_bundle",
            "settings": s,
            "trained_on": "synthetic voices and faces (train.synth), not real people",
            "synth_seconds": round(t_synth, 1),
            "train_seconds": round(t_train, 1),
            "synth_cpu_seconds": round(c_synth, 1),
            "train_cpu_seconds": round(c_train, 1),
            "total_seconds": round(t_all, 1),
            "total_cpu_seconds": round(c_all, 1),
            "evaluation": metrics,
            "variants_not_shipped": variants,
        }
        _stamp(staged, recipe)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, output)
        return recipe
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _stamp(path: Path, recipe: dict[str, Any]) -> None:
    """Add the recipe to the bundle's provenance; drop local paths from the config."""
    import onnx

    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "cmp_edge.provenance":
            prov = json.loads(prop.value)
            config = prov.get("config", {})
            for key in ("data", "out", "audio"):
                if config.get(key):
                    config[key] = Path(str(config[key])).name
            prov.update(recipe)
            prop.value = json.dumps(prov, sort_keys=True)
    onnx.save(model, str(path))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m export.default_bundle [-o PATH] [--small] [--work DIR]``."""
    p = argparse.ArgumentParser(
        prog="python -m export.default_bundle",
        description=(__doc__ or "").replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    p.add_argument("--small", action="store_true", help="toy scale (CI)")
    p.add_argument("--work", type=Path, help="keep the corpus and run here (reused if present)")
    p.add_argument("--workers", type=int, default=2, help="train.synth processes")
    p.add_argument("--steps", type=int, help="override the training steps")
    args = p.parse_args(argv)
    settings = dict(SMALL if args.small else RECIPE)
    if args.steps:
        settings["steps"] = args.steps
    recipe = build_default_bundle(args.output, settings, args.work, args.workers)
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 1e6:.2f} MB)")
    print(json.dumps(recipe["evaluation"], indent=1))
    print(json.dumps(recipe["variants_not_shipped"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
