"""Console output of the CLI: one-line messages, warnings routed to stderr."""

from __future__ import annotations

import re
import warnings
from typing import TextIO

from cmp_edge._safe.names import printable

PROG = "cmp-edge"


class Console:
    """Prints according to --quiet / --verbose."""

    def __init__(self, quiet: bool, verbose: bool, out: TextIO, err: TextIO) -> None:
        self.quiet, self.verbose, self.out, self.err = quiet, verbose, out, err

    def info(self, text: str) -> None:
        if not self.quiet:
            print(printable(text), file=self.out, flush=True)

    def note(self, text: str) -> None:
        """``cmp-edge: note: <text>`` on stderr (hidden by -q)."""
        if not self.quiet:
            print(f"{PROG}: note: {printable(text)}", file=self.err, flush=True)

    def debug(self, text: str) -> None:
        if self.verbose and not self.quiet:
            print(printable(text), file=self.err, flush=True)


#: API words in messages -> the CLI's words (API messages speak API, CLI messages speak CLI).
CLI_WORDS: tuple[tuple[str, str], ...] = (
    ("pass overwrite=True to replace it", "pass --force to replace it"),
    ("pass vad=False", "pass --no-vad"),
    ("with vad=False", "with --no-vad"),
    ("(vad=False)", "(--no-vad)"),
    ("lower min_speech_s", "lower --min-speech"),
    ("min_speech_s", "--min-speech"),
    ("pass its file as face_model=...", "pass its file with --face-model"),
    ("pass face_model=...", "pass --face-model"),
    ("given to model=", "given to --model"),
    ("itself to model=", "itself to --model"),
    ("channel=0", "--channel 0"),
    ("raise the limit with max_duration_s=...", "raise the limit with --max-duration SECONDS"),
    ("pick another with channel=", "pick another with --channel"),
    ("(channel= chooses)", "(--channel chooses)"),
    ("vad=False does not help", "--no-vad does not help"),
    ("device='cuda'", "--device cuda"),
    ("device='cpu'", "--device cpu"),
)


def cli_words(message: str) -> str:
    """``message`` with the API's argument names replaced by the CLI's options."""
    for api, cli in CLI_WORDS:
        message = message.replace(api, cli)
    return re.sub(r"condition='([a-z,]+)'", r"--condition \1", message)


def route_warnings(console: Console) -> None:
    """Print Python warnings as ``cmp-edge: warning: <message>`` (none with --quiet).

    Call inside ``warnings.catch_warnings()``, which restores the previous handling.
    """
    if console.quiet:
        warnings.simplefilter("ignore")
        return

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        text = printable(cli_words(" ".join(str(message).split())))
        print(f"{PROG}: warning: {text}", file=console.err, flush=True)

    warnings.showwarning = show
