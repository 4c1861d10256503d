"""The test session never touches the user's cache folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_cache_is_private(tmp_path_factory) -> None:  # noqa: ANN001
    from cmp_edge.facemodel.cache import default_cache_dir

    cache = default_cache_dir()
    assert cache is not None
    home = Path(os.path.expanduser("~")) / ".cache" / "cmp-edge"
    assert cache.resolve() != home.resolve()
    assert cache.resolve().is_relative_to(tmp_path_factory.getbasetemp().resolve())
    code = "from cmp_edge.facemodel.cache import default_cache_dir; print(default_cache_dir())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == str(cache)
