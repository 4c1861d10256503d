"""Shared test fixtures: the location of ../shared data (skip cleanly when absent)."""

from __future__ import annotations

import os
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
