"""Shared test fixtures: the location of ../shared data (skip cleanly when absent) and a
private cache folder for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_root() -> Path | None:
    """The shared data folder: $CMP_EDGE_SHARED or ../shared beside the checkout."""
    env = os.environ.get("CMP_EDGE_SHARED")
    root = Path(env) if env else REPO_ROOT.parent / "shared"
    return root if (root / "data").is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``shared/data``; skips the test when the shared folder is absent."""
    root = shared_root()
    if root is None:
        pytest.skip("../shared/data is absent (third-party test data is not shipped)")
    return root / "data"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the default-face-model cache out of the user's ~/.cache/cmp-edge.

    Set in ``os.environ`` so that subprocesses (``python -m ...``) inherit it.
    """
    old = os.environ.get("CMP_EDGE_CACHE_DIR")
    cache = tmp_path_factory.mktemp("cmp-edge-cache")
    os.environ["CMP_EDGE_CACHE_DIR"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("CMP_EDGE_CACHE_DIR", None)
    else:
        os.environ["CMP_EDGE_CACHE_DIR"] = old
