"""The FaceModel class: a linear 3D morphable model and its fused reconstruction."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.boundary import boundary
from cmp_edge.errors import CmpEdgeError, FaceModelError
from cmp_edge.facemodel.formats import read_face_model
from cmp_edge.facemodel.formats.npz import save_npz
from cmp_edge.facemodel.pose import broadcast_pose
from cmp_edge.facemodel.reference import reconstruct_reference
from cmp_edge.facemodel.regions import check_regions

__all__ = ["FaceModel"]

Device = Literal["cpu", "cuda"]
_DEFAULT: dict[type, Any] = {}
_DEFAULT_LOCK = threading.Lock()
Precision = Literal["float32", "float16"]


def _native() -> Any | None:
    """The compiled extension if it provides the reconstruction kernels, else None."""
    try:
        from cmp_edge._native import ext

        _C = ext()
    except ImportError:
        return None
    return _C if hasattr(_C, "ReconBasis") else None


def _as_f32(name: str, value: npt.ArrayLike, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise FaceModelError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise FaceModelError(f"{name} must be floating point, got {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float32)
    # The mean must be finite (a basis is not scanned here: ~20 ms for 8 million values).
    # NaN and infinity propagate through a sum (finite float32 values cannot overflow it).
    if name == "mean" and not np.isfinite(arr.sum(dtype=np.float64)):
        raise FaceModelError(f"{name} holds NaN or infinite values")
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    view = arr.view()
    view.setflags(write=False)
    return view


class FaceModel:
    """A linear 3D morphable face model.

    ``vertices = mean + reshape(shape_basis @ a + expr_basis @ e, (N, 3))``.
    All 3N-long vectors (basis rows) are **xyz interleaved per vertex**: row
    ``3*i + c`` is coordinate ``c`` (x, y, z) of vertex ``i``.

    float32 C-contiguous arrays are used without a copy (as read-only views;
    memory-mapped files stay mapped); do not modify them afterwards, because
    the packed bases of :meth:`reconstruct` are cached per model.

    Attributes:
        mean: (N, 3) float32 mean shape, in ``units``.
        shape_basis: (3N, Ks) float32 shape basis (coordinate units per unit coefficient).
        expr_basis: (3N, Ke) float32 expression basis (Ke may be 0).
        triangles: (F, 3) int32 vertex indices, counter-clockwise seen from outside.
        landmarks: name -> vertex index ("ibug_00".."ibug_67" where known, and the
            ARE pairs "oicd_left"/"oicd_right", "forehead_*", "cheek_*", "ear_*",
            "mid_*"; "_left" is the first vertex of the published pair / the
            viewer's left in a frontal view).
        shape_std: (Ks,) float32 prior standard deviation of each shape coefficient
            (ones when the basis is already scaled so that N(0, 1) is the prior).
        expr_std: (Ke,) float32, likewise.
        units: coordinate unit, "mm" normally.
        id: short identifier, e.g. "ict-facekit-head-v1" or "bfm2009".
        source_scale: factor applied to the source file's coordinates to obtain
            ``units`` (1e-3 for a micrometre file converted to mm; 1.0 otherwise).
        regions: the model's own facial regions, name -> sorted int32 vertex
            indices, disjoint (empty when the model has none: evaluation then
            derives them from the ibug landmarks, see
            :func:`cmp_edge.facemodel.regions.model_regions`). Names such as
            "forehead", "eyes", "nose", "cheeks", "mouth", "chin", "jaw", "ears"
            (:data:`~cmp_edge.facemodel.regions.REGION_NAMES`); vertices in no
            region are not part of the evaluated face.
    """

    def __init__(
        self,
        mean: npt.ArrayLike,
        shape_basis: npt.ArrayLike,
        expr_basis: npt.ArrayLike | None,
        triangles: npt.ArrayLike,
        landmarks: Mapping[str, int] | None = None,
        shape_std: npt.ArrayLike | None = None,
        expr_std: npt.ArrayLike | None = None,
        units: str = "mm",
        id: str = "custom",  # noqa: A002 - the contract's name
        *,
        source_scale: float = 1.0,
        shape_names: Sequence[str] | None = None,
        expr_names: Sequence[str] | None = None,
        regions: Mapping[str, npt.ArrayLike] | None = None,
    ) -> None:
        self.mean = _as_f32("mean", mean, 2)
        n = self.mean.shape[0]
        if self.mean.shape[1] != 3 or n == 0:
            raise FaceModelError(f"mean must have shape (N, 3) with N > 0, got {self.mean.shape}")
        self.shape_basis = _as_f32("shape_basis", shape_basis, 2)
        if self.shape_basis.shape[0] != 3 * n:
            raise FaceModelError(
                f"shape_basis must have 3N = {3 * n} rows, got shape {self.shape_basis.shape}"
            )
        if expr_basis is None:
            expr_basis = np.zeros((3 * n, 0), dtype=np.float32)
        self.expr_basis = _as_f32("expr_basis", expr_basis, 2)
        if self.expr_basis.shape[0] != 3 * n:
            raise FaceModelError(
                f"expr_basis must have 3N = {3 * n} rows, got shape {self.expr_basis.shape}"
            )
        tri = np.asarray(triangles)
        if tri.ndim != 2 or tri.shape[1] != 3 or not np.issubdtype(tri.dtype, np.integer):
            raise FaceModelError(f"triangles must be an integer (F, 3) array, got {tri.shape}")
        if tri.size and (tri.min() < 0 or tri.max() >= n):
            raise FaceModelError(f"triangles index vertices outside [0, {n})")
        self.triangles = np.ascontiguousarray(tri, dtype=np.int32)
        self.triangles.setflags(write=False)
        self.landmarks: dict[str, int] = {}
        for name, index in (landmarks or {}).items():
            idx = int(index)
            if not 0 <= idx < n:
                raise FaceModelError(f"landmark {name!r} = {idx} is outside [0, {n})")
            self.landmarks[str(name)] = idx
        ks, ke = self.shape_basis.shape[1], self.expr_basis.shape[1]
        self.shape_std = self._std("shape_std", shape_std, ks)
        self.expr_std = self._std("expr_std", expr_std, ke)
        self.units = str(units)
        self.id = str(id)
        self.source_scale = float(source_scale)
        self.shape_names = tuple(shape_names) if shape_names is not None else None
        self.expr_names = tuple(expr_names) if expr_names is not None else None
        self.regions = check_regions(regions, n)
        self._lock = threading.Lock()
        self._packed: dict[tuple[str, str], Any] = {}

    @staticmethod
    def _std(name: str, value: npt.ArrayLike | None, k: int) -> np.ndarray:
        if value is None:
            arr = np.ones(k, dtype=np.float32)
        else:
            arr = np.asarray(value, dtype=np.float32).reshape(-1)
            if arr.shape != (k,):
                raise FaceModelError(f"{name} must have {k} values, got {arr.size}")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise FaceModelError(f"{name} must be finite and >= 0")
        arr.setflags(write=False)
        return arr

    # ------------------------------------------------------------------ info
    @property
    def n_vertices(self) -> int:
        """Number of vertices N."""
        return int(self.mean.shape[0])

    @property
    def n_shape(self) -> int:
        """Number of shape components Ks."""
        return int(self.shape_basis.shape[1])

    @property
    def n_expr(self) -> int:
        """Number of expression components Ke."""
        return int(self.expr_basis.shape[1])

    @property
    def dims(self) -> dict[str, int]:
        """``{"vertices": N, "shape": Ks, "expr": Ke}`` (as bundles record it)."""
        return {"vertices": self.n_vertices, "shape": self.n_shape, "expr": self.n_expr}

    def check_matches(
        self,
        face_model_id: str,
        dims: Mapping[str, int] | None = None,
        *,
        where: str,
        needed_by: str,
        fix: str,
    ) -> None:
        """Refuse a face model other than the one a model or checkpoint was made with.

        Args:
            face_model_id: the id it needs.
            dims: the dimensions it needs (see :attr:`dims`), or None to check the id only.
            where: this face model's origin, first in the messages (e.g. its file).
            needed_by: what needs it, e.g. "model" or "checkpoint".
            fix: what to do, the end of the messages.

        Raises:
            FaceModelError: the id or the dimensions differ.
        """
        if self.id != face_model_id:
            raise FaceModelError(
                f"{where}: face model {self.id!r} does not match the {needed_by}'s "
                f"{face_model_id!r}; {fix}"
            )
        if dims is not None and self.dims != dict(dims):
            raise FaceModelError(
                f"{where}: face model dimensions {self.dims} differ from the {needed_by}'s "
                f"{dict(dims)}; {fix}"
            )

    def __repr__(self) -> str:
        return (
            f"FaceModel(id={self.id!r}, vertices={self.n_vertices}, shape={self.n_shape}, "
            f"expr={self.n_expr}, triangles={len(self.triangles)}, units={self.units!r})"
        )

    # ---------------------------------------------------------- constructors
    @classmethod
    def default(cls) -> FaceModel:
        """The packaged default head, built from the ICT Face Model Light (memoised per process).

        ``cmp_edge/models/ict-head.npz``, memory-mapped (no copy, no generation):
        id "ict-facekit-head-v1", 40 shape modes (ICT's first 40 identity modes)
        + 10 expression modes, mm, y up, +z out of the face, ibug-68 and ARE
        landmarks, facial regions. Recipe: :mod:`cmp_edge.facemodel.ict_head`.

        Raises:
            FaceModelError: the packaged file is missing or damaged (a broken install).
        """
        from cmp_edge.facemodel.packaged import default_model_data

        with _DEFAULT_LOCK:
            model = _DEFAULT.get(cls)
            if model is None:
                model = _DEFAULT[cls] = cls(**default_model_data())
        return model

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FaceModel:
        """Load a face model file; the format is chosen from the file's content and suffix.

        Supported: cmp-edge .npz, Basel Face Model 2009 .mat, SynergyNet/3DDFA
        tensors (torch checkpoint, .pkl, .npy or a folder of u/w_shp/w_exp .npy),
        and the Surrey Face Model cereal binary (.bin). Raises FaceModelError.
        """
        with boundary(FaceModelError, path, "face model"):
            return cls(**read_face_model(path))

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Write the model as cmp-edge .npz (uncompressed float32, memory-mappable)."""
        save_npz(self, path, overwrite=overwrite)

    def whitened(self) -> FaceModel:
        """This model with each basis column multiplied by its std (so N(0, 1) is the prior)."""
        if np.all(self.shape_std == 1.0) and np.all(self.expr_std == 1.0):
            return self
        return FaceModel(
            self.mean,
            self.shape_basis * self.shape_std,
            self.expr_basis * self.expr_std,
            self.triangles,
            self.landmarks,
            units=self.units,
            id=self.id,
            source_scale=self.source_scale,
            shape_names=self.shape_names,
            expr_names=self.expr_names,
            regions=self.regions,
        )

    # -------------------------------------------------------- reconstruction
    def reconstruct(
        self,
        shape_coeffs: npt.ArrayLike,
        expr_coeffs: npt.ArrayLike | None = None,
        *,
        scale: float | npt.ArrayLike = 1.0,
        rotation: npt.ArrayLike | None = None,
        translation: npt.ArrayLike | None = None,
        device: Device = "cpu",
        out: np.ndarray | None = None,
        threads: int | None = None,
        precision: Precision = "float32",
    ) -> np.ndarray:
        """Vertices ``s * R @ (mean + W_s a + W_e e) + t`` in one fused pass.

        Args:
            shape_coeffs: (ks,) for one face or (B, ks) for a batch; ks <= Ks (the
                first ks shape components are used).
            expr_coeffs: None, (ke,) or (B, ke) with ke <= Ke.
            scale: scalar or (B,) isotropic scale.
            rotation: None (identity), (3, 3) or (B, 3, 3); applied as R @ v.
            translation: None, (3,) or (B, 3), in output units.
            device: "cpu" (C++ SIMD + threads) or "cuda".
            out: optional C-contiguous float32 array of the result's shape to write into.
            threads: CPU worker threads (None: all cores).
            precision: "float32" basis, or "float16" (the basis stored in half
                precision, converted once and cached; relative error ~1e-4).

        Returns:
            float32 (N, 3) for 1-D coefficients, (B, N, 3) for 2-D ones.
        """
        a = np.asarray(shape_coeffs, dtype=np.float32)
        single = a.ndim == 1
        if a.ndim not in (1, 2):
            raise CmpEdgeError(f"shape_coeffs must be (K,) or (B, K), got shape {a.shape}")
        a = a.reshape(1, -1) if single else a
        b, ks = a.shape
        if ks > self.n_shape:
            raise CmpEdgeError(f"{ks} shape coefficients given but the model has {self.n_shape}")
        e: np.ndarray | None = None
        if expr_coeffs is not None:
            e = np.asarray(expr_coeffs, dtype=np.float32)
            if e.ndim != (1 if single else 2):
                raise CmpEdgeError(f"expr_coeffs must match shape_coeffs' rank, got {e.shape}")
            e = e.reshape(1, -1) if single else e
            if e.shape[0] != b:
                raise CmpEdgeError(f"expr_coeffs has batch {e.shape[0]} but shape_coeffs {b}")
            if e.shape[1] > self.n_expr:
                raise CmpEdgeError(
                    f"{e.shape[1]} expression coefficients given but the model has {self.n_expr}"
                )
        s_arr, r_arr, t_arr = broadcast_pose(b, scale, rotation, translation)
        n = self.n_vertices
        shape = (n, 3) if single else (b, n, 3)
        if out is not None:
            if (
                not isinstance(out, np.ndarray)
                or out.dtype != np.float32
                or out.shape != shape
                or not out.flags.c_contiguous
                or not out.flags.writeable
            ):
                raise CmpEdgeError(f"out must be a writable C-contiguous float32 array {shape}")
        if precision not in ("float32", "float16"):
            raise CmpEdgeError(f"precision must be 'float32' or 'float16', not {precision!r}")
        if device not in ("cpu", "cuda"):
            raise CmpEdgeError(f"device must be 'cpu' or 'cuda', not {device!r}")
        if threads is not None and int(threads) < 1:
            raise CmpEdgeError(f"threads must be >= 1, got {threads}")

        if not (np.all(np.isfinite(a)) and (e is None or np.all(np.isfinite(e)))):
            raise CmpEdgeError("coefficients contain NaN or infinity")
        native = self._native_basis(device, precision)
        if native is None:  # NumPy fallback (extension missing)
            v = reconstruct_reference(
                self.mean, self.shape_basis, self.expr_basis, a, e, s_arr, r_arr, t_arr
            )
            if out is None:
                return v[0] if single else v
            out[...] = v[0] if single else v
            return out
        coeffs = a
        if e is not None and e.shape[1] > 0:
            coeffs = np.zeros((b, self.n_shape + e.shape[1]), dtype=np.float32)
            coeffs[:, :ks] = a
            coeffs[:, self.n_shape :] = e
        result = out if out is not None else np.empty(shape, dtype=np.float32)
        native.reconstruct(
            np.ascontiguousarray(coeffs),
            s_arr,
            r_arr,
            t_arr,
            result.reshape(b, n, 3),
            0 if threads is None else min(int(threads), os.cpu_count() or 1),
        )
        return result

    def prepare(self, device: Device = "cpu", precision: Precision = "float32") -> None:
        """Pack the basis for :meth:`reconstruct` on ``device`` now, not on the first call.

        Packing reads the whole basis once (about 30-60 ms for 53k vertices x 50
        modes); :class:`~cmp_edge.runtime.reconstructor.Reconstructor` calls this at
        construction so that the first prediction costs what the later ones do.
        Does nothing when the extension is missing (the NumPy path needs no packing).

        Raises:
            CmpEdgeError: bad ``device`` or ``precision``, or CUDA asked for but unusable.
        """
        if precision not in ("float32", "float16"):
            raise CmpEdgeError(f"precision must be 'float32' or 'float16', not {precision!r}")
        if device not in ("cpu", "cuda"):
            raise CmpEdgeError(f"device must be 'cpu' or 'cuda', not {device!r}")
        self._native_basis(device, precision)

    def _native_basis(self, device: str, precision: str) -> Any | None:
        """The packed basis for the native kernels (built once, cached), or None."""
        key = (device, precision)
        packed = self._packed.get(key)
        if packed is not None:
            return packed
        c = _native()
        if c is None:
            if device == "cuda":
                raise CmpEdgeError(
                    "device='cuda' needs the compiled extension cmp_edge._C, which is missing"
                )
            return None
        if device == "cuda":
            if not c.has_cuda():
                raise CmpEdgeError(
                    "device='cuda' requested but cmp-edge was built without CUDA "
                    "(rebuild with CMP_EDGE_CUDA=ON and the CUDA toolkit), use device='cpu'"
                )
            from cmp_edge import _native as _cuda

            if _cuda.device_count() == 0:
                raise CmpEdgeError(
                    "device='cuda' requested but no CUDA device is usable here; use device='cpu'"
                )
        with self._lock:
            packed = self._packed.get(key)
            if packed is None:
                combined = np.concatenate([self.shape_basis, self.expr_basis], axis=1)
                half = precision == "float16"
                if device == "cuda":
                    packed = c.CudaReconBasis(self.mean, combined, half)
                else:
                    packed = c.ReconBasis(self.mean, combined, half)
                self._packed[key] = packed
        return packed
