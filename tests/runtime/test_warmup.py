"""Cold start: a Reconstructor does its one-time work at construction, not in the first predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmp_edge import _native
from cmp_edge.errors import CmpEdgeError


def _no_packing(*args: object, **kwargs: object) -> None:
    raise AssertionError("the basis was packed during a prediction")


def _fresh_face_model():  # noqa: ANN202
    from cmp_edge.facemodel import FaceModel

    fm = FaceModel.default()
    # a new instance (nothing packed yet) with the same id and sizes
    return FaceModel(fm.mean, fm.shape_basis, fm.expr_basis, fm.triangles, id=fm.id)


def test_first_predict_does_not_pack_the_basis(
    bundle: Path, voice16k: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmp_edge.runtime.reconstructor import Reconstructor

    fm = _fresh_face_model()
    rec = Reconstructor(bundle, face_model=fm, threads=1)
    expected = fm.reconstruct(np.full(fm.n_shape, 0.5, np.float32))
    monkeypatch.setattr(_native.ext(), "ReconBasis", _no_packing)
    face = rec.predict(voice16k, 16000)
    assert face.vertices.shape == (fm.n_vertices, 3)
    np.testing.assert_array_equal(fm.reconstruct(np.full(fm.n_shape, 0.5, np.float32)), expected)
    # without preparation the first prediction packs it (the spy fires)
    lazy = Reconstructor(bundle, face_model=_fresh_face_model(), threads=1, prepare=False)
    with pytest.raises(AssertionError, match="packed during a prediction"):
        lazy.predict(voice16k, 16000)


def test_prepare_checks_its_arguments() -> None:
    fm = _fresh_face_model()
    with pytest.raises(CmpEdgeError, match="device"):
        fm.prepare("tpu")  # type: ignore[arg-type]
    with pytest.raises(CmpEdgeError, match="precision"):
        fm.prepare("cpu", "int8")  # type: ignore[arg-type]
    fm.prepare("cpu", "float16")
    a = np.linspace(-1, 1, fm.n_shape).astype(np.float32)
    half = fm.reconstruct(a, precision="float16")
    full = fm.reconstruct(a)
    assert np.abs(half - full).max() < 1e-3 * np.abs(full).max()
