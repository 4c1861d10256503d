"""Options shared by several commands, and building the Reconstructor from them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from cmp_edge.cli.console import PROG, Console
from cmp_edge.errors import CmpEdgeError

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.reconstructor import Reconstructor


FORMATS = ("ply", "obj", "glb", "npz", "json")


DEFAULT_MODEL_NOTE = (
    "the built-in default model was trained on SYNTHETIC voices paired with faces drawn "
    "from the ICT face model's prior: the face shows the pipeline working, not the "
    "speaker's real face; pass --model with a bundle trained on real speakers for real "
    "estimates (see the README, section Models)"
)


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message}; see `{self.prog} --help`\n")


class VersionAction(argparse.Action):
    """``--version``: the version is looked up only when asked for (it costs an import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version and exit")
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        import cmp_edge

        print(f"{PROG} {cmp_edge.__version__}", file=sys.stdout, flush=True)
        parser.exit(0)


# --------------------------------------------------------------------------- parser
def parse_seconds(text: str, *, positive: bool = False) -> float:
    """argparse type: a finite number of seconds, >= 0 (> 0 when ``positive``)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds {bound}")
    return value


def positive_seconds(text: str) -> float:
    return parse_seconds(text, positive=True)


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", metavar="ONNX", help="ONNX bundle (default: the built-in model)")
    g.add_argument(
        "--face-model", metavar="FILE", help="face-model file (default: from the bundle)"
    )
    g.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="where to run (default cpu)"
    )
    g.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads of one prediction: ONNX Runtime and the 3DMM reconstruction "
        "(default: all cores)",
    )
    g.add_argument(
        "--min-speech",
        type=parse_seconds,
        default=0.5,
        metavar="SECONDS",
        help="least voiced speech accepted (default 0.5 s); less is an error",
    )
    g.add_argument(
        "--max-duration",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="longest audio accepted (default 600 s, see docs/limits.md); longer is an error",
    )
    g.add_argument(
        "--no-vad",
        dest="vad",
        action="store_false",
        help="use all of the audio, without voice activity detection",
    )
    a = p.add_argument_group("audio (see docs/audio.md)")
    a.add_argument(
        "--channel",
        default="auto",
        metavar="CH",
        help="channel of multi-channel audio: auto (mean, or the loudest channel when the "
        "channels cancel; default), mix (always the mean), best, left, right or an index",
    )
    a.add_argument(
        "--condition",
        default="none",
        metavar="STEPS",
        help="conditioning before the VAD: dc (remove DC offset), level (peak to -6 dBFS), "
        "all, or none (default; the published features)",
    )


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, help="output format (default: from -o, else ply)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    v = p.add_mutually_exclusive_group()
    v.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    v.add_argument("-v", "--verbose", action="store_true", help="print timings and details")


# --------------------------------------------------------------------------- helpers
def make_reconstructor(args: argparse.Namespace, console: Console) -> Reconstructor:
    from cmp_edge.model.session import CUDA
    from cmp_edge.runtime.reconstructor import Reconstructor

    if args.threads is not None and args.threads < 1:
        raise CmpEdgeError(f"--threads {args.threads}: must be at least 1; pass e.g. --threads 2")
    if args.device == "cuda":
        import onnxruntime

        # A CUDA provider that cannot load (no cuDNN, ...) logs raw lines on stderr before
        # ONNX Runtime falls back to CPU; the note below says it in one line (-v: details).
        onnxruntime.set_default_logger_severity(2 if console.verbose else 4)
    rec = Reconstructor(
        args.model,
        args.face_model,
        threads=args.threads,
        device=args.device,
        min_speech_s=args.min_speech,
        vad=args.vad,
        channel=args.channel,
        condition=args.condition,
        max_duration_s=args.max_duration,
    )
    if args.model is None:
        console.note(DEFAULT_MODEL_NOTE)
    if args.device == "cuda" and CUDA not in rec.providers:
        from cmp_edge.model.session import ort_providers

        why = (
            "its CUDA provider did not load (CUDA/cuDNN libraries missing?; -v shows why)"
            if CUDA in ort_providers()
            else "this ONNX Runtime has no CUDA provider; pip install onnxruntime-gpu"
        )
        console.note(f"CUDA was requested but ONNX Runtime runs on CPU here: {why}")
    console.debug(
        f"model {rec.model_path} ({rec.info.kind}), face model {rec.face_model_id}, "
        f"providers {', '.join(rec.providers)}, reconstruction on {rec.reconstruct_device}, "
        f"loaded in {rec.load_ms:.1f} ms"
    )
    return rec
