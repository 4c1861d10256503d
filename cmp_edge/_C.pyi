"""Type stubs for the native extension cmp_edge._C (kept in sync by tests/test_stub.py)."""

import numpy as np
import numpy.typing as npt

def has_cuda() -> bool: ...
def cuda_device_count() -> int: ...

# --- log_mel (frontend) ----------------------------------------------------

class LogMel:
    """Batch CMP log-mel with precomputed tables (spec section 1)."""

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        n_mels: int = 64,
        f_min: float = 20.0,
        f_max: float = 7200.0,
        n_fft: int = 1024,
        win_length: int = 400,
        hop_length: int = 160,
        preemphasis: float = 0.97,
        window: str = "hamming",
        floor: float = 1e-5,
        isa: str = "auto",
        precision: str = "auto",
    ) -> None: ...
    def compute(
        self, samples: npt.NDArray[np.generic], scale: float = 1.0, threads: int = 1
    ) -> npt.NDArray[np.float32]: ...
    def num_frames(self, n_samples: int) -> int: ...
    @property
    def n_mels(self) -> int: ...
    @property
    def isa(self) -> str: ...
    @property
    def precision(self) -> str: ...

def log_mel_best_isa() -> str: ...

# --- online_log_mel (frontend) ---------------------------------------------

class OnlineLogMel:
    """Streaming CMP log-mel; frames equal LogMel.compute for any chunking."""

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        n_mels: int = 64,
        f_min: float = 20.0,
        f_max: float = 7200.0,
        n_fft: int = 1024,
        win_length: int = 400,
        hop_length: int = 160,
        preemphasis: float = 0.97,
        window: str = "hamming",
        floor: float = 1e-5,
    ) -> None: ...
    def accept_waveform(self, samples: npt.NDArray[np.generic], scale: float = 1.0) -> None: ...
    def input_finished(self) -> None: ...
    @property
    def num_frames_ready(self) -> int: ...
    @property
    def first_frame(self) -> int: ...
    @property
    def num_samples(self) -> int: ...
    @property
    def is_finished(self) -> bool: ...
    def get_frames(self, start: int, n: int) -> npt.NDArray[np.float32]: ...
    def pop(self, n: int) -> None: ...

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
def render_mesh_into(
    image: npt.NDArray[np.uint8],
    vertices: npt.ArrayLike,
    triangles: npt.ArrayLike,
    colors: npt.ArrayLike | None,
    rotation: npt.ArrayLike,
    scale: float,
    translation: npt.ArrayLike,
    light_dir: npt.ArrayLike,
    ambient: float,
    alpha: float,
    base_color: npt.ArrayLike,
    depth: npt.NDArray[np.float32] | None = None,
    threads: int = 1,
) -> int: ...
def format_obj(
    vertices: npt.ArrayLike, triangles: npt.ArrayLike, colors: npt.ArrayLike | None = None
) -> bytes: ...
def png_unfilter(data: bytes, height: int, width: int, bpp: int) -> npt.NDArray[np.uint8]: ...

# --- vad (published WebRTC VAD loop) ----------------------------------------
class VadLoop:
    """The published WebRTC VAD loop run natively on webrtcvad's own instance."""

    def __init__(self, vad: object, library: str) -> None: ...
    def accept(
        self, samples: npt.NDArray[np.float32], n_frames: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]: ...
    @property
    def triggered(self) -> bool: ...
    @property
    def start(self) -> int: ...
    @property
    def frames_seen(self) -> int: ...
