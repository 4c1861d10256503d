"""Face models: the FaceModel class, loaders for real formats, the embedded default model.

    >>> from cmp_edge.facemodel import FaceModel
    >>> fm = FaceModel.default()            # the packaged ICT-derived head, mm
    >>> v = fm.reconstruct(np.zeros(40))    # (N, 3) float32

Command line: ``python -m cmp_edge.facemodel convert IN OUT`` writes any
supported model as cmp-edge .npz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.landmarks import ARE_PAIRS

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.facemodel.model import FaceModel
    from cmp_edge.facemodel.reference import reconstruct_reference

    # load_<format>(path, ...) -> FaceModel, made on first use by __getattr__ below;
    # the arguments are those of cmp_edge.facemodel.formats.<format>.read_<format>.
    def load_bfm(path: object, *args: object, **kwargs: object) -> FaceModel: ...
    def load_ict(path: object, *args: object, **kwargs: object) -> FaceModel: ...
    def load_npz(path: object, *args: object, **kwargs: object) -> FaceModel: ...
    def load_sfm(path: object, *args: object, **kwargs: object) -> FaceModel: ...
    def load_synergynet(path: object, *args: object, **kwargs: object) -> FaceModel: ...


__all__ = [
    "ARE_PAIRS",
    "FaceModel",
    "FaceModelError",
    "load_bfm",
    "load_ict",
    "load_npz",
    "load_sfm",
    "load_synergynet",
    "reconstruct_reference",
]


def __getattr__(name: str) -> object:
    # FaceModel (and its NumPy reference) load on first use: cmp_edge.metrics needs
    # only the landmark table.
    if name == "FaceModel":
        from cmp_edge.facemodel.model import FaceModel

        return FaceModel
    if name == "reconstruct_reference":
        from cmp_edge.facemodel.reference import reconstruct_reference

        return reconstruct_reference
    # load_<format>(path) -> FaceModel; readers import lazily (scipy etc. only when used)
    if name in {"load_bfm", "load_ict", "load_npz", "load_sfm", "load_synergynet"}:
        import importlib

        fmt = name[len("load_") :]
        reader = getattr(
            importlib.import_module(f"cmp_edge.facemodel.formats.{fmt}"), f"read_{fmt}"
        )

        def load(path: object, *args: object, **kwargs: object) -> FaceModel:
            from cmp_edge.facemodel.model import FaceModel

            return FaceModel(**reader(path, *args, **kwargs))

        load.__name__ = name
        load.__doc__ = f"Load a face model with :func:`{reader.__module__}.read_{fmt}`."
        return load
    raise AttributeError(f"module 'cmp_edge.facemodel' has no attribute {name!r}")
