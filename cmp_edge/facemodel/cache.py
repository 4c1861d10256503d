"""The on-disk cache of the generated default face model."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cmp_edge.errors import CmpEdgeError
from cmp_edge.facemodel import default as gen
from cmp_edge.facemodel.formats.npz import read_npz, save_npz

__all__ = ["default_cache_dir", "default_model", "load_or_build_default"]


def default_cache_dir() -> Path | None:
    """Folder for the generated default model: $CMP_EDGE_CACHE_DIR (empty, "0" or "off"
    disables caching), else $XDG_CACHE_HOME/cmp-edge or ~/.cache/cmp-edge."""
    env = os.environ.get("CMP_EDGE_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in {"", "0", "off", "none"} else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cmp-edge"


def load_or_build_default(cache_dir: Path | None, factory: Callable[..., Any]) -> Any:
    """The default model from ``cache_dir`` (memory-mapped .npz) or generated and cached there.

    ``factory`` is the ``FaceModel`` class (passed in: this module sits below it).

    The cache file name carries a hash of the generator's source, so a changed
    generator never reuses an old file; an unwritable folder just skips caching.
    """
    path: Path | None = None
    if cache_dir is not None:
        key = hashlib.sha256(Path(gen.__file__).read_bytes()).hexdigest()[:16]
        path = cache_dir / f"{gen.DEFAULT_ID}-{key}.npz"
        if path.is_file():
            try:
                cached = factory(**read_npz(path))
                if cached.id == gen.DEFAULT_ID:
                    return cached
            except (CmpEdgeError, OSError):
                pass  # damaged cache: regenerate below
    d = gen.build_default()
    model = factory(
        d.mean,
        d.shape_basis,
        d.expr_basis,
        d.triangles,
        d.landmarks,
        units="mm",
        id=gen.DEFAULT_ID,
        shape_names=d.shape_names,
        expr_names=d.expr_names,
    )
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_npz(model, path)
        except (CmpEdgeError, OSError):
            pass
    return model


_LOADED: dict[Callable[..., Any], Any] = {}
_LOCK = threading.Lock()


def default_model(factory: Callable[..., Any]) -> Any:
    """The default model built by ``factory`` (the ``FaceModel`` class), once per process."""
    with _LOCK:
        if factory not in _LOADED:
            _LOADED[factory] = load_or_build_default(default_cache_dir(), factory)
        return _LOADED[factory]
