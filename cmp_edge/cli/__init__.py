"""The ``cmp-edge`` command line."""

from cmp_edge.cli.main import main

__all__ = ["main"]
