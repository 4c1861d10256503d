"""Build a Voxceleb-3D style corpus from videos, recordings and photos of speakers.

    python -m train.prepare INPUT OUT [--workers N] [--shard I/N] [--gender m|f] ...
    python -m train.prepare merge OUT [SHARD_OUT ...]

INPUT is a folder with one subfolder per speaker (any mix of videos, audio files and
photos) or a manifest CSV (speaker, path[, gender]). OUT receives vox1_meta.csv,
preprocessed_MFCC/, wav/, faces/, qa/ (fit overlays), summary.csv (one row per input
file), residuals.csv (one row per image), summary.json. Rerunning resumes; with
--shard only that share of the speakers is processed and ``merge`` writes the
corpus-wide files once all shards are done.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from cmp_edge.errors import CmpEdgeError
from train.prepare.corpus import finish, merge
from train.prepare.inputs import SpeakerInput, discover, select_shard
from train.prepare.speaker import Options, finished_record, process_speaker

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train.prepare",
        description=__doc__.splitlines()[0],
        epilog="After sharded runs (--shard I/N): "
        "python -m train.prepare merge OUT [SHARD_OUT ...] joins them. "
        "Run from the repository root; docs/prepare.md explains the input layout.",
    )
    p.add_argument("input", type=Path, help="speaker folders, or a manifest CSV")
    p.add_argument("out", type=Path, help="output corpus folder")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    p.add_argument("--shard", help="process only share I of N of the speakers (I/N)")
    p.add_argument("--gender", choices=("m", "f"), help="gender of speakers without one")
    p.add_argument("--face-model", default="default", help="face model file or 'default'")
    p.add_argument("--frames-per-video", type=int, default=6, help="sharpest frames kept (6)")
    p.add_argument("--candidates", type=int, default=16, help="frames searched per video (16)")
    p.add_argument("--max-utterance", type=float, default=20.0, help="seconds per utterance")
    p.add_argument("--min-eye-px", type=float, default=24.0, help="smallest eye distance")
    p.add_argument("--max-nme", type=float, default=0.08, help="drop images fitted worse")
    p.add_argument("--max-yaw", type=float, default=50.0, help="drop faces turned further")
    p.add_argument("--landmark-std", type=float, default=0.03, help="see fit_landmarks")
    p.add_argument("--force", action="store_true", help="redo finished speakers")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _run_all(speakers: list[SpeakerInput], opts: Options, workers: int, quiet: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(speakers), unit="speaker", disable=quiet, file=sys.stderr)
    records: list[dict[str, Any]] = []
    if workers <= 1 or len(speakers) <= 1:
        for sp in speakers:
            records.append(process_speaker(sp, opts))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(speakers))) as pool:
            futures = [pool.submit(process_speaker, sp, opts) for sp in speakers]
            for fut in as_completed(futures):
                records.append(fut.result())
                bar.update()
    bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (1 with a one-line error)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_in[:1] == ["merge"]:
            mp = argparse.ArgumentParser(prog="python -m train.prepare merge")
            mp.add_argument("out", type=Path)
            mp.add_argument("shards", type=Path, nargs="*", help="shard outputs elsewhere")
            margs = mp.parse_args(args_in[1:])
            totals = merge(margs.out, margs.shards or [margs.out])
        else:
            args = _parser().parse_args(args_in)
            notes: list[str] = []
            speakers = select_shard(discover(args.input, args.gender, notes), args.shard)
            for note in notes:
                print(f"train.prepare: note: {note}", file=sys.stderr)
            args.out.mkdir(parents=True, exist_ok=True)
            opts = Options(
                out=args.out,
                face_model=args.face_model,
                frames_per_video=args.frames_per_video,
                candidates_per_video=args.candidates,
                max_utterance_s=args.max_utterance,
                min_eye_px=args.min_eye_px,
                max_nme=args.max_nme,
                max_yaw=args.max_yaw,
                landmark_std=args.landmark_std,
                force=args.force,
            )
            finished = (
                0
                if args.force
                else sum(finished_record(args.out, sp.name) is not None for sp in speakers)
            )
            if finished:
                print(
                    f"train.prepare: note: {finished} speaker(s) finished by an earlier run "
                    "are kept (--force redoes them)",
                    file=sys.stderr,
                )
            _run_all(speakers, opts, args.workers, args.quiet)
            if args.shard is not None:
                print(f"shard {args.shard}: {len(speakers)} speakers done; run merge when all are")
                return 0
            totals = finish(args.out)
    except CmpEdgeError as exc:
        print(f"train.prepare: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{totals['complete_speakers']} of {totals['speakers']} speakers complete, "
        f"{totals['utterances']} utterances, {totals['images']} images, "
        f"{totals['file_errors']} file errors (see summary.csv)"
    )
    for name, why in totals["incomplete"].items():
        print(f"  {name}: {why}")
    if totals["speakers"] and not totals["complete_speakers"]:
        print("train.prepare: error: no speaker is complete; see summary.csv", file=sys.stderr)
        return 1
    return 0
