"""The version has one source, pyproject.toml, and is looked up lazily."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import cmp_edge
from tests.conftest import REPO_ROOT


def _pyproject_version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_version_comes_from_pyproject() -> None:
    assert cmp_edge._find_version() == _pyproject_version()
    assert cmp_edge.__version__ == _pyproject_version()
    source = Path(cmp_edge.__file__).read_text()
    assert _pyproject_version() not in source  # not written down a second time


def test_installed_metadata_wins_and_fallback(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    monkeypatch.setattr(metadata, "version", lambda name: "9.8.7")
    assert cmp_edge._find_version() == "9.8.7"

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    monkeypatch.setattr(cmp_edge, "__file__", str(tmp_path / "cmp_edge" / "__init__.py"))
    assert cmp_edge._find_version() == "0+unknown"  # neither installed nor a checkout
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "5"\n')
    assert cmp_edge._find_version() == "0+unknown"  # someone else's pyproject.toml


def test_import_does_no_version_work() -> None:
    code = (
        "import sys, cmp_edge, cmp_edge.cli.main; "
        "print('importlib.metadata' in sys.modules, 'tomllib' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "False"]


def test_cli_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cmp_edge", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"cmp-edge {_pyproject_version()}\n" and proc.stderr == ""
