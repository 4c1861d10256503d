"""Benchmarks run with ``pytest benchmarks/ --benchmark-only``; they reuse the test fixtures."""

from tests.conftest import _private_cache, shared_data, shared_root  # noqa: F401
