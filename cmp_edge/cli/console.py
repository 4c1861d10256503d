"""Console output of the CLI: one-line messages, warnings routed to stderr."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, TextIO

from cmp_edge._safe.names import printable

if TYPE_CHECKING:  # pragma: no cover
    pass


PROG = "cmp-edge"


class Console:
    """Prints according to --quiet / --verbose."""

    def __init__(self, quiet: bool, verbose: bool, out: TextIO, err: TextIO) -> None:
        self.quiet, self.verbose, self.out, self.err = quiet, verbose, out, err

    def info(self, text: str) -> None:
        if not self.quiet:
            print(printable(text), file=self.out, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(printable(text), file=self.err, flush=True)

    def debug(self, text: str) -> None:
        if self.verbose and not self.quiet:
            print(printable(text), file=self.err, flush=True)


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
        text = printable(" ".join(str(message).split()))
        print(f"{PROG}: warning: {text}", file=console.err, flush=True)

    warnings.showwarning = show
