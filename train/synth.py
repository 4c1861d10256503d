"""Synthetic paired voice/face corpus in the Voxceleb-3D layout.

Usage::

    python -m train.synth OUT --identities N --utterances M --seed S

Writes OUT/vox1_meta.csv, OUT/preprocessed_MFCC/..., OUT/wav/..., OUT/faces/...
and OUT/synth.json exactly as docs/architecture.md ("Data layout") describes.
Identities are face-model prior draws; their voices come from the
source-filter model of :mod:`train.synth_voice`, whose vocal-tract length,
pitch, F1 and F2/F3 partly depend on the face's geometry
(:mod:`train.synth_faces`). See train/README.md for the model. The output is
a pure function of the arguments (byte-identical for the same seed, whatever
the number of workers).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import shutil
import string
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from train import synth_faces, synth_voice
from train.parallel import process_map

__all__ = ["CorpusSettings", "IdentitySpec", "generate", "main", "make_identities"]

FORMAT_VERSION = 1
SHAPE_DIMS = 199  # BFM layout of faces/<name>/<k>.npy: 199 shape + 29 expression
EXPR_DIMS = 29
TEST_LETTERS = "ABCDE"
TRAIN_LETTERS = "FGHIJKLMNOPQRSTUVWXYZ"
NATIONALITIES = (
    "USA", "UK", "India", "Canada", "Australia", "Ireland", "Germany", "France",
    "Italy", "Spain", "Mexico", "Brazil", "Norway", "Philippines", "New Zealand",
)  # fmt: skip
_VOWEL_LETTERS = "aeiou"
_ONSETS = ("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
           "z", "br", "ch", "cl", "dr", "gr", "sh", "st", "th", "tr")  # fmt: skip
_CODAS = ("", "", "", "n", "r", "l", "s", "m", "nd", "rn", "ck")
_YT_CHARS = string.ascii_letters + string.digits + "-_"


@dataclasses.dataclass(frozen=True)
class CorpusSettings:
    """Generator settings (written to synth.json)."""

    identities: int = 100
    utterances: int = 5
    seed: int = 0
    utterance_seconds: tuple[float, float] = (3.0, 6.0)
    image_size: int = 128
    images_per_train_identity: int = 3
    images: bool = True
    coupling: float = 0.8
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.identities < 1:
            raise ValueError(f"--identities must be >= 1, got {self.identities}")
        if self.utterances < 1:
            raise ValueError(f"--utterances must be >= 1, got {self.utterances}")
        lo, hi = self.utterance_seconds
        if not 1.0 <= lo <= hi <= 60.0:
            raise ValueError(
                f"--utterance-seconds must satisfy 1 <= min <= max <= 60, got {lo} {hi}"
            )
        if not 16 <= self.image_size <= 1024:
            raise ValueError(f"--image-size must be in [16, 1024], got {self.image_size}")
        if self.images_per_train_identity < 1:
            raise ValueError("--images-per-identity must be >= 1")
        if not 0.0 <= self.coupling <= 1.0:
            raise ValueError(f"--coupling must be in [0, 1], got {self.coupling}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"--test-fraction must be in [0, 1), got {self.test_fraction}")


@dataclasses.dataclass(frozen=True)
class IdentitySpec:
    """Everything about one identity that is decided before any audio or image is made."""

    index: int
    vox_id: str
    name: str
    gender: str
    nationality: str
    split: str  # "test" (name A-E) or "train" (F-Z)
    shape: np.ndarray  # (40,) float64, N(0, 1) units of the face model
    expr: np.ndarray  # (10,)
    geometry_raw: np.ndarray  # (G,)
    geometry_z: np.ndarray  # (G,)
    planted: np.ndarray  # (len(VOICE_FACTORS),)
    voice_factors: np.ndarray  # (len(VOICE_FACTORS),)
    speaker: synth_voice.Speaker
    utterances: tuple[tuple[str, str], ...]  # (youtube id, nnnnn) per utterance
    n_images: int

    def record(self) -> dict[str, Any]:
        """JSON-ready summary for synth.json."""
        return {
            "vox_id": self.vox_id,
            "name": self.name,
            "gender": self.gender,
            "nationality": self.nationality,
            "split": self.split,
            "geometry": dict(
                zip(synth_faces.GEOMETRY_FACTORS, map(float, self.geometry_raw), strict=True)
            ),
            "geometry_z": dict(
                zip(synth_faces.GEOMETRY_FACTORS, map(float, self.geometry_z), strict=True)
            ),
            "planted": dict(zip(synth_voice.VOICE_FACTORS, map(float, self.planted), strict=True)),
            "voice_factors": dict(
                zip(synth_voice.VOICE_FACTORS, map(float, self.voice_factors), strict=True)
            ),
            "speaker": self.speaker.as_dict(),
            "utterances": [f"{yt}/{nnnnn}" for yt, nnnnn in self.utterances],
            "images": self.n_images,
        }


def _rng(seed: int, *key: int) -> np.random.Generator:
    """Independent generator for one purpose (key) of one corpus seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _syllable(rng: np.random.Generator, onset: str | None = None) -> str:
    if onset is None:
        onset = str(rng.choice(_ONSETS))
    vowel = str(rng.choice(list(_VOWEL_LETTERS)))
    if onset in _VOWEL_LETTERS:  # a name starting with a vowel letter
        return onset + str(rng.choice(_ONSETS)) + vowel
    return onset + vowel + str(rng.choice(_CODAS))


def _name(rng: np.random.Generator, letter: str) -> str:
    first = _syllable(rng, letter.lower())
    first += "".join(_syllable(rng) for _ in range(int(rng.integers(0, 2))))
    last = "".join(_syllable(rng) for _ in range(int(rng.integers(2, 4))))
    return f"{first.capitalize()}_{last.capitalize()}"


def _names(n: int, test_fraction: float, rng: np.random.Generator) -> list[str]:
    """Unique fake VGGFace1-style names; round(n * test_fraction) start with A-E."""
    n_test = round(n * test_fraction)
    if test_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    start_test, start_train = rng.integers(len(TEST_LETTERS)), rng.integers(len(TRAIN_LETTERS))
    letters = [TEST_LETTERS[(start_test + i) % len(TEST_LETTERS)] for i in range(n_test)]
    letters += [TRAIN_LETTERS[(start_train + i) % len(TRAIN_LETTERS)] for i in range(n - n_test)]
    names: list[str] = []
    seen: set[str] = set()
    for letter in letters:
        name = _name(rng, letter)
        while name in seen:
            name = _name(rng, letter)
        seen.add(name)
        names.append(name)
    return names


def _utterance_ids(m: int, rng: np.random.Generator) -> tuple[tuple[str, str], ...]:
    """(youtube id, nnnnn) for m utterances spread over 1-3 videos."""
    n_videos = int(rng.integers(1, min(m, 3) + 1))
    videos = ["".join(rng.choice(list(_YT_CHARS), 11)) for _ in range(n_videos)]
    owner = np.sort(np.concatenate([np.arange(n_videos), rng.integers(0, n_videos, m - n_videos)]))
    counts = [0] * n_videos
    ids = []
    for v in owner:
        counts[v] += 1
        ids.append((videos[v], f"{counts[v]:05d}"))
    return tuple(ids)


def make_identities(
    settings: CorpusSettings, geometry: synth_faces.FaceGeometry, n_shape: int, n_expr: int
) -> list[IdentitySpec]:
    """Sample every identity's face, gender, voice and file ids (deterministic in the seed).

    Vox ids id10001... follow alphabetical name order, as in VoxCeleb1.
    """
    seed = settings.seed
    names = sorted(_names(settings.identities, settings.test_fraction, _rng(seed, 0)))
    specs = []
    for i, name in enumerate(names):
        rng = _rng(seed, 1, i)
        shape = rng.standard_normal(n_shape)
        expr = rng.standard_normal(n_expr)
        raw = geometry.measure(shape, expr)
        z = geometry.standardise(raw)
        # bigger heads are more often male (latent correlation = coupling)
        c = settings.coupling
        male = bool(c * z[0] + np.sqrt(1.0 - c * c) * rng.standard_normal() > 0.0)
        planted = geometry.planted(z)
        speaker, voice = synth_voice.speaker_from_factors(planted, male, settings.coupling, rng)
        test = name[0] in TEST_LETTERS
        specs.append(
            IdentitySpec(
                index=i,
                vox_id=f"id{10001 + i}",
                name=name,
                gender="m" if male else "f",
                nationality=str(rng.choice(NATIONALITIES)),
                split="test" if test else "train",
                shape=shape,
                expr=expr,
                geometry_raw=raw,
                geometry_z=z,
                planted=planted,
                voice_factors=voice,
                speaker=speaker,
                utterances=_utterance_ids(settings.utterances, rng),
                n_images=1 if test else settings.images_per_train_identity,
            )
        )
    return specs


def _identity_job(args: tuple[CorpusSettings, IdentitySpec, str]) -> None:
    """Write one identity's audio, features, face files and images."""
    from cmp_edge.errors import NoSpeechError
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.features import cmp_features
    from cmp_edge.output.mesh import save_mesh, write_xyz
    from cmp_edge.output.render import write_png

    settings, spec, out_name = args
    out = Path(out_name)
    seed = settings.seed
    lo, hi = settings.utterance_seconds
    for j, (yt, nnnnn) in enumerate(spec.utterances):
        rng = _rng(seed, 2, spec.index, j)
        for _attempt in range(3):
            samples = synth_voice.synthesize(spec.speaker, rng.uniform(lo, hi), rng)
            pcm = np.round(samples * 32767.0).astype(np.int16)
            try:
                feats = cmp_features(pcm, synth_voice.SAMPLE_RATE)
            except NoSpeechError:  # nothing voiced: draw another utterance
                continue
            break
        else:
            raise RuntimeError(f"{spec.vox_id}: no voiced speech in 3 attempts")
        wav_dir = out / "wav" / spec.vox_id / yt
        feat_dir = out / "preprocessed_MFCC" / spec.vox_id / yt
        wav_dir.mkdir(parents=True, exist_ok=True)
        feat_dir.mkdir(parents=True, exist_ok=True)
        wav = io.BytesIO()  # in memory: soundfile's own file close syncs to disk (slow)
        soundfile.write(wav, pcm, synth_voice.SAMPLE_RATE, subtype="PCM_16", format="WAV")
        (wav_dir / f"{nnnnn}.wav").write_bytes(wav.getvalue())
        np.save(feat_dir / f"{nnnnn}.npy", np.ascontiguousarray(feats, dtype=np.float32))

    model = FaceModel.default()
    vertices = np.asarray(model.reconstruct(spec.shape, spec.expr, threads=1), dtype=np.float32)
    params = np.zeros(SHAPE_DIMS + EXPR_DIMS, np.float32)
    params[: len(spec.shape)] = spec.shape
    params[SHAPE_DIMS : SHAPE_DIMS + len(spec.expr)] = spec.expr
    face_dir = out / "faces" / spec.name
    face_dir.mkdir(parents=True, exist_ok=True)
    write_xyz(face_dir / "0.xyz", vertices)
    save_mesh(face_dir / "0.obj", vertices, model.triangles)
    albedo = synth_faces.random_albedo(vertices, _rng(seed, 4, spec.index))
    for k in range(spec.n_images):
        np.save(face_dir / f"{k}.npy", params)
        if k > 0:  # same face, another photo: the geometry files are shared (hard links)
            for suffix in (".xyz", ".obj"):
                _link_or_copy(face_dir / f"0{suffix}", face_dir / f"{k}{suffix}")
        if settings.images:
            image = synth_faces.render_face(
                vertices, model.triangles, albedo, _rng(seed, 3, spec.index, k), settings.image_size
            )
            write_png(face_dir / f"{k}.png", image)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _write_meta(out: Path, specs: Sequence[IdentitySpec]) -> None:
    with open(out / "vox1_meta.csv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["VoxCeleb1 ID", "VGGFace1 ID", "Gender", "Nationality", "Set"])
        for s in specs:
            vox_set = "test" if s.split == "test" else "dev"
            writer.writerow([s.vox_id, s.name, s.gender, s.nationality, vox_set])


def generate(
    out: str | os.PathLike[str], settings: CorpusSettings, *, workers: int = 1, force: bool = False
) -> list[IdentitySpec]:
    """Write the corpus to ``out`` and return the identities.

    Raises:
        FileExistsError: ``out`` is a file, or a non-empty folder and ``force`` is False.
    """
    from cmp_edge.facemodel import FaceModel

    out_path = Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise FileExistsError(f"{out_path} exists and is not a folder")
    if out_path.exists() and any(out_path.iterdir()):
        if not force:
            raise FileExistsError(f"{out_path} is not empty; pass --force to replace it")
        for sub in ("preprocessed_MFCC", "wav", "faces"):
            shutil.rmtree(out_path / sub, ignore_errors=True)
    out_path.mkdir(parents=True, exist_ok=True)

    model = FaceModel.default()
    geometry = synth_faces.FaceGeometry.for_model(model)
    n_shape = min(40, model.shape_basis.shape[1])
    n_expr = min(10, model.expr_basis.shape[1])
    specs = make_identities(settings, geometry, n_shape, n_expr)
    jobs = [(settings, spec, str(out_path)) for spec in specs]
    for _ in process_map(_identity_job, jobs, workers):
        pass

    _write_meta(out_path, specs)
    info = {
        "format": FORMAT_VERSION,
        "generator": "train.synth",
        "seed": settings.seed,
        "settings": dataclasses.asdict(settings),
        "face_model_id": str(model.id),
        "sample_rate": synth_voice.SAMPLE_RATE,
        "param_layout": {
            "shape": SHAPE_DIMS,
            "expr": EXPR_DIMS,
            "used_shape": n_shape,
            "used_expr": n_expr,
        },  # fmt: skip
        "geometry_factors": list(synth_faces.GEOMETRY_FACTORS),
        "voice_factors": list(synth_voice.VOICE_FACTORS),
        "planted_weights": synth_faces.PLANTED_WEIGHTS.tolist(),
        "geometry_prior": {
            "mean": geometry.factor_mean.tolist(),
            "std": geometry.factor_std.tolist(),
        },
        "identities": [spec.record() for spec in specs],
    }
    (out_path / "synth.json").write_text(json.dumps(info, indent=1) + "\n")
    return specs


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.synth",
        description="Write a synthetic paired voice/face corpus in the Voxceleb-3D layout.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("out", help="output folder (created; must be empty unless --force)")
    p.add_argument("--identities", type=int, default=100, help="number of identities (100)")
    p.add_argument("--utterances", type=int, default=5, help="utterances per identity (5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--utterance-seconds",
        type=float,
        nargs="+",
        default=[3.0, 6.0],
        metavar="S",
        help="utterance length in seconds: one value, or MIN MAX for uniform lengths (3 6)",
    )
    p.add_argument("--image-size", type=int, default=128, help="face image side in pixels (128)")
    p.add_argument(
        "--images-per-identity",
        type=int,
        default=3,
        help="face images per training identity; test identities get one (3)",
    )
    p.add_argument("--no-images", action="store_true", help="skip the face images (.png)")
    p.add_argument(
        "--coupling",
        type=float,
        default=0.8,
        help="voice-geometry coupling in [0, 1]; 0 makes voices independent of faces (0.8)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes; the output does not depend on it (min(2, cores))",
    )
    p.add_argument("--force", action="store_true", help="replace the contents of OUT")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    seconds = args.utterance_seconds
    if len(seconds) not in (1, 2):
        print("train.synth: error: --utterance-seconds takes one or two values", file=sys.stderr)
        return 2
    try:
        settings = CorpusSettings(
            identities=args.identities,
            utterances=args.utterances,
            seed=args.seed,
            utterance_seconds=(float(seconds[0]), float(seconds[-1])),
            image_size=args.image_size,
            images_per_train_identity=args.images_per_identity,
            images=not args.no_images,
            coupling=args.coupling,
        )
        start = time.perf_counter()
        specs = generate(args.out, settings, workers=args.workers, force=args.force)
    except (ValueError, FileExistsError) as exc:
        print(f"train.synth: error: {exc}", file=sys.stderr)
        return 2
    n_test = sum(s.split == "test" for s in specs)
    print(
        f"wrote {len(specs)} identities ({n_test} test, {len(specs) - n_test} train) x "
        f"{settings.utterances} utterances to {args.out} in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
