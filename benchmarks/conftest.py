"""Benchmarks run with ``pytest benchmarks/ --benchmark-only``; they reuse the test fixtures."""

from tests.conftest import shared_data, shared_root  # noqa: F401
