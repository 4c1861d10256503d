"""cmp-edge: a person's 3D face geometry from their voice (Cross-Modal Perceptionist).

Nothing heavy is imported here: submodules load on first use, so that
``import cmp_edge`` and the CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> submodule that defines it
_LAZY = {
    "Reconstructor": "cmp_edge.runtime.reconstructor",
    "Face": "cmp_edge.runtime.face",
    "FaceModel": "cmp_edge.facemodel",
    "LogMelOptions": "cmp_edge.features",
    "OnlineLogMel": "cmp_edge.features",
    "log_mel": "cmp_edge.features",
    "cmp_features": "cmp_edge.features",
}

__all__ = [
    "Face",
    "FaceModel",
    "LogMelOptions",
    "OnlineLogMel",
    "Reconstructor",
    "__version__",
    "cmp_features",
    "log_mel",
]

if TYPE_CHECKING:  # pragma: no cover
    __version__: str

    from cmp_edge.facemodel import FaceModel
    from cmp_edge.features import LogMelOptions, OnlineLogMel, cmp_features, log_mel
    from cmp_edge.runtime.face import Face
    from cmp_edge.runtime.reconstructor import Reconstructor


def _find_version() -> str:
    """The installed distribution's version (pyproject.toml is its single source).

    In a source checkout that is not installed, the version in the checkout's
    pyproject.toml; "0+unknown" when neither is found.
    """
    from importlib import metadata

    try:
        return metadata.version("cmp-edge")
    except metadata.PackageNotFoundError:
        pass
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        import tomllib

        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "cmp-edge" and isinstance(project.get("version"), str):
            return str(project["version"])
    except (OSError, ValueError):
        pass
    return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":  # resolved on first use: importlib.metadata is slow to import
        version = _find_version()
        globals()[name] = version
        return version
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cmp_edge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
