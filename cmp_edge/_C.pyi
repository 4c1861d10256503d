"""Type stubs for the native extension cmp_edge._C (kept in sync by tests/test_stub.py)."""

import numpy as np
import numpy.typing as npt

def has_cuda() -> bool: ...
def cuda_device_count() -> int: ...

# --- log_mel (frontend) ----------------------------------------------------


# --- online_log_mel (frontend) ---------------------------------------------


# --- bfm_recon (face model) ------------------------------------------------

def recon_cpu_isa() -> str: ...
def float_to_half_bits(value: float) -> int: ...
def half_bits_to_float(bits: int) -> float: ...

class ReconBasis:
    """A 3DMM basis packed for the fused CPU kernel (float32 or binary16 storage)."""

    def __init__(
        self, mean: npt.ArrayLike, basis: npt.ArrayLike, half: bool = False, portable: bool = False
    ) -> None: ...
    @property
    def n_vertices(self) -> int: ...
    @property
    def n_components(self) -> int: ...
    @property
    def half(self) -> bool: ...
    @property
    def portable(self) -> bool: ...
    @property
    def nbytes(self) -> int: ...
    def reconstruct(
        self,
        coeffs: npt.ArrayLike,
        scale: npt.ArrayLike,
        rotation: npt.ArrayLike,
        translation: npt.ArrayLike,
        out: npt.NDArray[np.float32],
        threads: int = 0,
    ) -> None: ...

class CudaReconBasis:
    """A 3DMM basis resident on a CUDA device; RuntimeError without CUDA or device."""

    def __init__(
        self, mean: npt.ArrayLike, basis: npt.ArrayLike, half: bool = False, device: int = 0
    ) -> None: ...
    @property
    def n_vertices(self) -> int: ...
    @property
    def n_components(self) -> int: ...
    @property
    def half(self) -> bool: ...
    @property
    def device(self) -> int: ...
    def reconstruct(
        self,
        coeffs: npt.ArrayLike,
        scale: npt.ArrayLike,
        rotation: npt.ArrayLike,
        translation: npt.ArrayLike,
        out: npt.NDArray[np.float32],
        threads: int = 0,
    ) -> None: ...


# --- render (rasteriser) ---------------------------------------------------

