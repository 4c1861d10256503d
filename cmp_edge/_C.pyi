"""Type stubs for the native extension cmp_edge._C (kept in sync by tests/test_stub.py)."""

import numpy as np
import numpy.typing as npt

def has_cuda() -> bool: ...
def cuda_device_count() -> int: ...

# --- log_mel (frontend) ----------------------------------------------------


# --- online_log_mel (frontend) ---------------------------------------------


# --- bfm_recon (face model) ------------------------------------------------


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
