"""Benchmarks run with ``pytest benchmarks/ --benchmark-only``; they reuse the test fixtures."""

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_data, shared_root  # noqa: F401


@pytest.fixture(scope="session")
def fullwidth(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # noqa: F811
    """The full-width published network, a BFM-sized face model and 10 s of speech."""
    from benchmarks.fullwidth import build

    return build(shared_data, tmp_path_factory.mktemp("fullwidth"))
