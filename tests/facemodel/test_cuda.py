"""CUDA parity with the CPU kernel; runs only where a CUDA device is usable."""

from __future__ import annotations

import numpy as np
import pytest

from cmp_edge import _C
from cmp_edge.facemodel import FaceModel

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(_C.cuda_device_count() == 0, reason="no CUDA device"),
]


@pytest.mark.parametrize("batch", [1, 3, 8, 17, 64])
@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_cuda_matches_cpu(batch: int, precision: str) -> None:
    fm = FaceModel.default()
    rng = np.random.default_rng(batch)
    a, e = rng.standard_normal((batch, 40)), rng.standard_normal((batch, 10))
    q = np.linalg.qr(rng.standard_normal((batch, 3, 3)))[0]
    s, t = rng.uniform(0.5, 2.0, batch), rng.standard_normal((batch, 3))
    kw = dict(scale=s, rotation=q, translation=t, precision=precision)
    cpu = fm.reconstruct(a, e, **kw)
    gpu = fm.reconstruct(a, e, device="cuda", **kw)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=2e-3)


def test_cuda_single_and_partial_coefficients() -> None:
    fm = FaceModel.default()
    a = np.random.default_rng(0).standard_normal(12)
    np.testing.assert_allclose(
        fm.reconstruct(a, device="cuda"), fm.reconstruct(a), rtol=1e-5, atol=1e-3
    )
