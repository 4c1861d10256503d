"""Run a fuzz or bomb function in a fresh interpreter under an address-space limit.

``python -m tests.hostile.sandbox module:function HEADROOM_MB`` imports the
module, then limits the address space (``resource.setrlimit(RLIMIT_AS)``) to
what the process maps at that point plus ``HEADROOM_MB``, and calls the
function. A file that makes cmp-edge allocate gigabytes then fails with
MemoryError inside the child (a test failure) instead of exhausting the
machine, and a crash (segmentation fault) is reported by its signal.
"""

from __future__ import annotations

import importlib
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mapped_bytes() -> int:
    """Virtual memory of this process (VmSize), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def run_sandboxed(target: str, headroom_mb: int = 400, timeout: float = 300.0) -> str:
    """Run ``module:function`` in a child under RLIMIT_AS; fail the test unless it exits 0.

    Returns the child's standard output.
    """
    if not Path("/proc/self/status").is_file():
        pytest.skip("needs /proc to measure the address space")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.hostile.sandbox", target, str(headroom_mb)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode < 0:
        pytest.fail(f"{target} crashed with signal {-proc.returncode}:\n{proc.stderr[-6000:]}")
    assert proc.returncode == 0, f"{target} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc.stdout


def main(argv: list[str]) -> None:
    module, name = argv[0].split(":")
    func = getattr(importlib.import_module(module), name)
    headroom = int(argv[1]) << 20
    import numpy  # noqa: F401 - map the big libraries before measuring

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (mapped_bytes() + headroom, hard))
    func()


if __name__ == "__main__":
    main(sys.argv[1:])
