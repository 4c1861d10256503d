"""Fused native reconstruction against the NumPy reference (float32 and float16 bases)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmp_edge import _C
from cmp_edge.errors import CmpEdgeError
from cmp_edge.facemodel import FaceModel, reconstruct_reference
from cmp_edge.facemodel import model as model_mod


def _random_model(n: int, ks: int, ke: int, seed: int = 0) -> FaceModel:
    rng = np.random.default_rng(seed)
    mean = rng.uniform(-80, 80, (n, 3))
    return FaceModel(
        mean,
        rng.standard_normal((3 * n, ks)) * 2.0,
        rng.standard_normal((3 * n, ke)),
        np.zeros((0, 3), dtype=np.int32),
        {"a": 0},
        id="random",
    )


def _rotations(rng: np.random.Generator, b: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((b, 3, 3)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def _ref(fm: FaceModel, a, e=None, s=1.0, r=None, t=None) -> np.ndarray:
    return reconstruct_reference(
        fm.mean, fm.shape_basis, fm.expr_basis, a, e, s, r, t, dtype=np.float64
    )


def _rel(v: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(v - ref) / np.linalg.norm(ref))


@pytest.fixture(scope="module")
def small() -> FaceModel:
    return _random_model(1003, 40, 10)  # not a multiple of the 8-vertex block


def test_extension_is_used(small: FaceModel) -> None:
    assert model_mod._native() is not None
    assert _C.recon_cpu_isa() in ("avx2-fma-f16c", "baseline")


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("with_expr", [False, True])
def test_batch_matches_reference(small: FaceModel, batch: int, with_expr: bool) -> None:
    rng = np.random.default_rng(batch)
    a = rng.standard_normal((batch, 40))
    e = rng.standard_normal((batch, 10)) if with_expr else None
    s = rng.uniform(0.5, 2.0, batch)
    r = _rotations(rng, batch)
    t = rng.standard_normal((batch, 3)) * 20
    v = small.reconstruct(a, e, scale=s, rotation=r, translation=t)
    assert v.shape == (batch, small.n_vertices, 3) and v.dtype == np.float32
    np.testing.assert_allclose(v, _ref(small, a, e, s, r, t), rtol=1e-5, atol=1e-3)


def test_single_vector_no_pose(small: FaceModel) -> None:
    rng = np.random.default_rng(5)
    a, e = rng.standard_normal(40), rng.standard_normal(10)
    v = small.reconstruct(a, e)
    assert v.shape == (small.n_vertices, 3)
    np.testing.assert_allclose(v, _ref(small, a, e)[0], rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(small.reconstruct(np.zeros(40)), small.mean)


def test_fewer_coefficients_use_leading_components(small: FaceModel) -> None:
    rng = np.random.default_rng(6)
    a, e = rng.standard_normal(12), rng.standard_normal(3)
    full_a = np.concatenate([a, np.zeros(28)])
    full_e = np.concatenate([e, np.zeros(7)])
    np.testing.assert_allclose(
        small.reconstruct(a, e), small.reconstruct(full_a, full_e), rtol=1e-6, atol=1e-4
    )


def test_single_pose_broadcasts_over_batch(small: FaceModel) -> None:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 40))
    r = _rotations(rng, 1)[0]
    v = small.reconstruct(a, scale=1.5, rotation=r, translation=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(v, _ref(small, a, None, 1.5, r, [1, 2, 3]), rtol=1e-5, atol=1e-3)


def test_out_buffer_is_filled_and_returned(small: FaceModel) -> None:
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 40))
    out = np.full((2, small.n_vertices, 3), np.nan, dtype=np.float32)
    res = small.reconstruct(a, out=out)
    assert res is out
    np.testing.assert_allclose(out, _ref(small, a), rtol=1e-5, atol=1e-3)


def test_thread_counts_agree(small: FaceModel) -> None:
    a = np.random.default_rng(9).standard_normal((6, 40))
    one = small.reconstruct(a, threads=1)
    np.testing.assert_array_equal(one, small.reconstruct(a, threads=3))


@pytest.mark.parametrize("batch", [1, 4, 7])
def test_float16_basis_error_bound(batch: int) -> None:
    fm = FaceModel.default()
    rng = np.random.default_rng(10 + batch)
    a, e = rng.standard_normal((batch, 40)), rng.standard_normal((batch, 10))
    ref = _ref(fm, a, e)
    v16 = fm.reconstruct(a, e, precision="float16")
    assert _rel(v16, ref) < 5e-4
    # the error is in the basis term only: relative to the displacement it is still small
    assert np.linalg.norm(v16 - ref) / np.linalg.norm(ref - fm.mean) < 5e-3
    assert _rel(fm.reconstruct(a, e), ref) < 1e-6


def test_float16_tiny_components_keep_precision() -> None:
    # a basis whose values would be half subnormals without per-component scaling
    fm = _random_model(64, 4, 0, seed=3)
    tiny = FaceModel(fm.mean, fm.shape_basis * 1e-6, None, fm.triangles)
    a = np.array([3e5, -2e5, 1e5, 4e5])
    ref = _ref(tiny, a)
    disp = ref - tiny.mean
    err = tiny.reconstruct(a, precision="float16") - ref
    assert np.linalg.norm(err) / np.linalg.norm(disp) < 2e-3


@pytest.mark.parametrize("half", [False, True])
def test_portable_kernel_matches_simd(half: bool) -> None:
    fm = _random_model(203, 12, 0, seed=4)
    rng = np.random.default_rng(12)
    b = 6
    a = rng.standard_normal((b, 12)).astype(np.float32)
    s = rng.uniform(0.5, 2.0, b).astype(np.float32)
    r = _rotations(rng, b).astype(np.float32)
    t = rng.standard_normal((b, 3)).astype(np.float32)
    outs = []
    for portable in (False, True):
        basis = _C.ReconBasis(fm.mean, fm.shape_basis, half=half, portable=portable)
        assert basis.portable == portable
        out = np.empty((b, fm.n_vertices, 3), np.float32)
        basis.reconstruct(a, s, r, t, out, threads=2)
        outs.append(out)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-3)
    ref = _ref(fm, a, None, s, r, t)
    np.testing.assert_allclose(outs[1], ref, rtol=1e-5 if not half else 1e-3, atol=5e-2)


@given(st.floats(width=16, allow_nan=False, allow_infinity=True))
@settings(max_examples=200, deadline=None)
def test_half_conversion_matches_numpy(x: float) -> None:
    bits = int(np.array(x, dtype=np.float16).view(np.uint16))
    assert _C.float_to_half_bits(x) == bits
    assert _C.half_bits_to_float(bits) == float(np.float16(x)) or np.isnan(x)


@given(st.floats(min_value=-7e4, max_value=7e4, width=32))
@settings(max_examples=300, deadline=None)
def test_half_rounding_matches_numpy(x: float) -> None:
    with np.errstate(over="ignore"):
        expected = int(np.array(x, np.float32).astype(np.float16).view("u2"))
    assert _C.float_to_half_bits(x) == expected


def test_numpy_fallback_without_extension(small: FaceModel, monkeypatch) -> None:
    rng = np.random.default_rng(11)
    a = rng.standard_normal((2, 40))
    fresh = FaceModel(small.mean, small.shape_basis, small.expr_basis, small.triangles)
    monkeypatch.setattr(model_mod, "_native", lambda: None)
    out = np.empty((2, small.n_vertices, 3), np.float32)
    v = fresh.reconstruct(a, scale=2.0, out=out)
    assert v is out
    np.testing.assert_allclose(v, _ref(small, a, None, 2.0), rtol=1e-5, atol=1e-3)
    with pytest.raises(CmpEdgeError, match="cuda"):
        fresh.reconstruct(a, device="cuda")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shape_coeffs": np.zeros(41)}, "41 shape coefficients"),
        ({"shape_coeffs": np.zeros((2, 2, 40))}, "shape_coeffs"),
        ({"shape_coeffs": np.zeros(40), "expr_coeffs": np.zeros(11)}, "11 expression"),
        ({"shape_coeffs": np.zeros((2, 40)), "expr_coeffs": np.zeros((3, 10))}, "batch"),
        ({"shape_coeffs": np.full(40, np.nan)}, "NaN"),
        ({"shape_coeffs": np.zeros((2, 40)), "scale": [1.0, 2.0, 3.0]}, "scale"),
        ({"shape_coeffs": np.zeros(40), "rotation": np.eye(4)}, "rotation"),
        ({"shape_coeffs": np.zeros(40), "translation": [1.0, 2.0]}, "translation"),
        ({"shape_coeffs": np.zeros(40), "out": np.zeros((1003, 3))}, "out"),
        ({"shape_coeffs": np.zeros(40), "out": np.zeros((5, 3), np.float32)}, "out"),
        ({"shape_coeffs": np.zeros(40), "device": "tpu"}, "device"),
        ({"shape_coeffs": np.zeros(40), "precision": "int8"}, "precision"),
        ({"shape_coeffs": np.zeros(40), "threads": 0}, "threads"),
    ],
)
def test_bad_arguments(small: FaceModel, kwargs: dict, match: str) -> None:
    with pytest.raises(CmpEdgeError, match=match):
        small.reconstruct(**kwargs)


def test_native_binding_checks_arguments() -> None:
    basis = _C.ReconBasis(np.zeros((10, 3), np.float32), np.zeros((30, 4), np.float32))
    assert (basis.n_vertices, basis.n_components, basis.half) == (10, 4, False)
    eye = np.eye(3, dtype=np.float32)[None]
    ok = dict(scale=np.ones(1), rotation=eye, translation=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="coefficients"):
        basis.reconstruct(np.zeros((1, 5)), out=np.zeros((1, 10, 3), np.float32), **ok)
    with pytest.raises(ValueError, match="float32"):
        basis.reconstruct(np.zeros((1, 4)), out=np.zeros((1, 10, 3)), **ok)
    with pytest.raises(ValueError, match="shape"):
        basis.reconstruct(np.zeros((1, 4)), out=np.zeros((1, 9, 3), np.float32), **ok)
    with pytest.raises(ValueError, match="NaN"):
        _C.ReconBasis(np.zeros((1, 3), np.float32), np.full((3, 1), np.nan, np.float32))
    with pytest.raises(ValueError, match="basis"):
        _C.ReconBasis(np.zeros((10, 3), np.float32), np.zeros((29, 4), np.float32))


def test_cuda_request_without_device_is_clear(small: FaceModel) -> None:
    if _C.cuda_device_count() > 0:
        pytest.skip("a CUDA device is present")
    with pytest.raises(CmpEdgeError, match="cuda"):
        small.reconstruct(np.zeros(40), device="cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        _C.CudaReconBasis(small.mean, small.shape_basis)


def test_model_arrays_are_read_only(small: FaceModel) -> None:
    with pytest.raises(ValueError):
        small.shape_basis[0, 0] = 1.0


def test_large_batch_streaming_stores_match_reference() -> None:
    # an output above 16 MB takes the non-temporal store path
    fm = FaceModel.default()
    rng = np.random.default_rng(13)
    b = 3 + (16 << 20) // (12 * fm.n_vertices)
    a, e = rng.standard_normal((b, 40)), rng.standard_normal((b, 10))
    t = rng.standard_normal((b, 3))
    v = fm.reconstruct(a, e, scale=1.1, translation=t, threads=2)
    assert v.nbytes > 16 << 20
    np.testing.assert_allclose(v, _ref(fm, a, e, 1.1, None, t), rtol=1e-5, atol=1e-3)
