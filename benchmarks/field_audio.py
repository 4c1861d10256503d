"""Issue 11 measurements: memory and time against duration, CLI wall per input rate, and the
shift of the prediction per recording condition with and without conditioning.

Run ``python -m benchmarks.field_audio [memory|rates|shift] [--baseline DIR]`` from the
repository root; it prints Markdown tables (docs/benchmarks.md). ``--baseline`` names
another checkout (e.g. the previous release) whose CLI is measured side by side.
Every CLI run is a fresh subprocess; its peak memory is the child's ``ru_maxrss``.
Needs ../shared/data (field recordings and LibriSpeech speakers).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from tests.conftest import shared_root

ROOT = Path(__file__).resolve().parent.parent


def _peak_child(checkout: Path, *args: str) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of ``python -m cmp_edge ARGS``, run by a
    wrapper child of its own so that ``ru_maxrss`` of its children is this run's alone."""
    code = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],capture_output=True);"
        "w=time.perf_counter()-t;"
        "print(w,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,p.returncode)"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "cmp_edge", *args, "-q", "--force"]
    out = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True, check=True).stdout
    wall, peak, rc = out.split()
    return float(wall), float(peak), int(rc)


def _sparse_flac(path: Path, seconds: int, ref: np.ndarray, every_s: int = 600) -> Path:
    """Silence with the reference utterance every ``every_s`` seconds (a long, sparse file)."""
    import soundfile as sf

    with sf.SoundFile(str(path), "w", 16000, 1, "PCM_16", format="FLAC") as f:
        for m in range(seconds // 60):
            block = np.zeros(16000 * 60, np.int16)
            if (m * 60) % every_s == 0:
                block[: ref.size] = ref
            f.write(block)
    return path


def memory(shared: Path, baseline: Path | None) -> None:
    import soundfile as sf

    ref, _ = sf.read(str(shared / "field" / "reference_16k_pcm16.wav"), dtype="int16")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (1, 10, 30, 120):
            src = _sparse_flac(Path(tmp) / f"sparse_{minutes}min.flac", minutes * 60, ref)
            out = str(Path(tmp) / "out.json")
            cells = [f"{minutes} min", f"{src.stat().st_size / 1e6:.2f} MB"]
            for checkout in [ROOT, *([baseline] if baseline else [])]:
                wall, peak, rc = _peak_child(checkout, "infer", str(src), "-o", out)
                cells += [f"{peak:.0f} MB" if rc == 0 else f"exit {rc}", f"{wall:.1f} s"]
            rows.append(cells)
    head = ["duration", "FLAC size", "peak RSS", "wall"]
    if baseline:
        head += ["baseline peak RSS", "baseline wall"]
    _table(head, rows)


def rates(shared: Path, baseline: Path | None, repeats: int = 5) -> None:
    """CLI wall per input rate; runs interleave rates and checkouts so that load spikes
    on a shared machine hit all cells alike."""
    import soundfile as sf

    from cmp_edge.audio import load, resample

    x, sr = load(shared / "field" / "reference_16k_pcm16.wav")
    checkouts = [ROOT, *([baseline] if baseline else [])]
    walls: dict[tuple[int, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for rate in (16000, 44100, 48000):
            paths[rate] = Path(tmp) / f"ref_{rate}.wav"
            sf.write(str(paths[rate]), resample(x, sr, rate), rate, subtype="PCM_16")
        out = str(Path(tmp) / "o.json")
        for _ in range(repeats):
            for rate, path in paths.items():
                for k, checkout in enumerate(checkouts):
                    wall = _peak_child(checkout, "infer", str(path), "-o", out)[0]
                    walls.setdefault((rate, k), []).append(wall)
    rows = [
        [f"{rate} Hz"]
        + [f"{statistics.median(walls[rate, k]):.2f} s" for k in range(len(checkouts))]
        for rate in paths
    ]
    head = ["input rate", f"CLI wall (median of {repeats})"]
    _table(head + (["baseline"] if baseline else []), rows)


def _speaker_distance(rec, shared: Path) -> float:  # noqa: ANN001
    files = sorted((shared / "speech" / "librispeech").rglob("*.flac"))
    by_speaker: dict[str, Path] = {}
    for p in files:
        by_speaker.setdefault(p.name.split("-")[0], p)
    faces = [rec.predict_file(p).whitened for p in list(by_speaker.values())[:8]]
    return statistics.median(
        float(np.linalg.norm(a - b)) for a, b in itertools.combinations(faces, 2)
    )


def shift(shared: Path) -> None:
    import soundfile as sf

    from cmp_edge.runtime.reconstructor import Reconstructor

    warnings.simplefilter("ignore")
    field = shared / "field"
    plain = Reconstructor(threads=1)
    conditioned = Reconstructor(threads=1, condition="all")
    ref = plain.predict_file(field / "reference_16k_pcm16.wav").whitened
    speakers = _speaker_distance(plain, shared)
    cases = sorted(p.name for p in field.iterdir() if p.name != "README.md")
    with tempfile.TemporaryDirectory() as tmp:
        x, sr = sf.read(str(field / "reference_16k_pcm16.wav"), dtype="float32")
        extra = Path(tmp) / "quiet_peak_-50dBFS.wav"
        sf.write(str(extra), x * np.float32(10 ** (-44 / 20)), sr, subtype="PCM_16")
        paths = [field / c for c in cases] + [extra]
        rows = []
        for path in paths:
            cells = [path.name]
            for rec in (plain, conditioned):
                try:
                    face = rec.predict_file(path)
                    d = float(np.linalg.norm(face.whitened - ref))
                    cells.append(f"{d:.3f} ({d / speakers:.2f})")
                    if rec is plain:
                        issues = "; ".join(face.quality.issues()) or "-"
                except Exception as exc:  # noqa: BLE001 - a table cell, not a crash
                    cells.append(f"error: {type(exc).__name__}")
            cells.append(issues)
            rows.append(cells)
    print(f"median distance between 8 LibriSpeech speakers: {speakers:.3f}\n")
    _table(["recording", "shift, default", "shift, --condition all", "report"], rows)


def _table(head: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", nargs="*", default=["memory", "rates", "shift"])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    root = shared_root()
    if root is None:
        sys.exit("../shared/data is absent")
    shared = root / "data"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for what in args.what:
        {
            "memory": lambda: memory(shared, args.baseline),
            "rates": lambda: rates(shared, args.baseline),
            "shift": lambda: shift(shared),
        }[what]()


if __name__ == "__main__":
    main()
