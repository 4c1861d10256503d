"""Type stubs for the native extension cmp_edge._C (kept in sync by tests/test_stub.py)."""

import numpy as np
import numpy.typing as npt

def has_cuda() -> bool: ...
def cuda_device_count() -> int: ...

# --- log_mel (frontend) ----------------------------------------------------

# --- online_log_mel (frontend) ---------------------------------------------

# --- bfm_recon (face model) ------------------------------------------------

# --- render (rasteriser) ---------------------------------------------------
