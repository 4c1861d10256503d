"""SynergyNet / 3DDFA face-model tensors: ``u`` (3N, 1), ``w_shp`` (3N, 40), ``w_exp`` (3N, 10).

Sources: the image-to-3D checkpoint (a ``torch.save`` zip whose ``state_dict``
holds ``module.u``, ``module.w_shp``, ``module.w_exp``), a pickled dict (.pkl,
as 3DDFA's ``bfm_noneck_v3.pkl``: ``u``, ``w_shp``, ``w_exp``, optional ``tri``
and ``keypoints``), a .npy holding such a dict, or a folder with ``u.npy``,
``w_shp.npy``, ``w_exp.npy`` (and optional ``tri.npy``). PyTorch is not needed:
checkpoints are read with a restricted unpickler that only rebuilds arrays.

N = 53215 (BFM 2009 without the neck, as in 3DDFA); for that topology the
CMP evaluation pairs of spec section 4 become landmarks. The coefficients
keep the checkpoint's convention (unwhitened; the published models un-whiten
with param_mean/param_std). Coordinates are converted to millimetres; the
factor is ``FaceModel.source_scale`` (multiply a CMP scale by 1/source_scale
to use it with these millimetre vertices).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from cmp_edge._safe.boundary import guarded
from cmp_edge._safe.limits import check_bytes
from cmp_edge._safe.npyfile import npy_header, read_npy_file
from cmp_edge._safe.numbers import require_finite
from cmp_edge._safe.unpickler import load_pickle, load_torch_zip
from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData, model_data
from cmp_edge.facemodel.formats._units import to_mm_factor
from cmp_edge.facemodel.landmarks import BFM_ARE_INDICES, CMP_N_VERTICES, bfm_are_landmarks

__all__ = ["CMP_PAIRS", "CMP_N_VERTICES", "cmp_landmarks", "read_synergynet"]

CMP_PAIRS = BFM_ARE_INDICES
_FIX = "check that it is the SynergyNet/3DDFA checkpoint, .pkl or .npy"
cmp_landmarks = bfm_are_landmarks


def _read_source(p: Path) -> dict[str, Any]:
    if p.is_dir():
        out: dict[str, Any] = {}
        for key in ("u", "w_shp", "w_exp", "tri", "keypoints"):
            fp = p / f"{key}.npy"
            if fp.is_file():
                out[key] = read_npy_file(fp, str(p), FaceModelError)
        return out
    check_bytes(p.stat().st_size, str(p), "the file", FaceModelError)
    with p.open("rb") as f:
        head = f.read(6)
    if head[:4] == b"PK\x03\x04":
        obj = load_torch_zip(str(p))
    elif head == b"\x93NUMPY":
        with p.open("rb") as f:
            _, _, dtype, _ = npy_header(f, str(p), "the .npy file", FaceModelError, objects=True)
            if dtype.hasobject:
                obj = load_pickle(f)
                obj = obj.item() if isinstance(obj, np.ndarray) and obj.ndim == 0 else obj
            else:
                raise FaceModelError(
                    f"{p}: a plain array; give the folder holding u.npy, w_shp.npy and w_exp.npy"
                )
    elif head[:1] == b"\x80":
        with p.open("rb") as f:
            obj = load_pickle(f)
        if not isinstance(obj, dict):
            raise FaceModelError(
                f"{p}: legacy PyTorch checkpoint or unknown pickle; re-save it with a "
                "recent torch.save or as a dict of arrays"
            )
    else:
        raise FaceModelError(f"{p}: not a checkpoint, pickle or .npy file")
    if not isinstance(obj, dict):
        raise FaceModelError(f"{p}: expected a dict of tensors, found {type(obj).__name__}")
    state = obj.get("state_dict", obj)
    if not isinstance(state, dict):
        raise FaceModelError(f"{p}: 'state_dict' is not a dict")
    return {
        (k[len("module.") :] if isinstance(k, str) and k.startswith("module.") else k): v
        for k, v in state.items()
    }


@guarded(FaceModelError, "SynergyNet/3DDFA tensors", _FIX)
def read_synergynet(path: str | os.PathLike[str], triangles: np.ndarray | None = None) -> ModelData:
    """Load the SynergyNet/3DDFA tensors (see the module docstring).

    Args:
        path: checkpoint, .pkl, .npy or folder.
        triangles: (F, 3) 0-based triangles when the source carries none
            (checkpoints do not); without them the model has no triangles.
    """
    p = Path(path)
    src = _read_source(p)
    missing = [k for k in ("u", "w_shp", "w_exp") if not isinstance(src.get(k), np.ndarray)]
    if missing:
        raise FaceModelError(
            f"{p}: no SynergyNet/3DDFA face model here (missing {', '.join(missing)}; "
            "expected keys module.u, module.w_shp, module.w_exp)"
        )
    u = np.asarray(src["u"], dtype=np.float64).reshape(-1)
    w_shp = np.asarray(src["w_shp"], dtype=np.float32)
    w_exp = np.asarray(src["w_exp"], dtype=np.float32)
    if u.size % 3 or w_shp.ndim != 2 or w_exp.ndim != 2:
        raise FaceModelError(f"{p}: u must be 3N long and w_shp / w_exp 2-D matrices")
    for name, values in (("u", u), ("w_shp", w_shp), ("w_exp", w_exp)):
        require_finite(values, str(p), name, FaceModelError)
    n = u.size // 3
    if w_shp.shape[0] != 3 * n or w_exp.shape[0] != 3 * n:
        raise FaceModelError(
            f"{p}: w_shp {w_shp.shape} / w_exp {w_exp.shape} do not have 3N = {3 * n} rows"
        )
    mean = u.reshape(n, 3)
    factor = to_mm_factor(mean, str(p))
    tri = triangles if triangles is not None else src.get("tri")
    if tri is None:
        tri_arr = np.zeros((0, 3), dtype=np.int32)
    else:
        tri_arr = np.asarray(tri, dtype=np.int64)
        if tri_arr.ndim == 2 and tri_arr.shape[0] == 3 and tri_arr.shape[1] != 3:
            tri_arr = tri_arr.T
        if tri_arr.size and tri_arr.min() == 1 and tri_arr.max() == n:
            tri_arr = tri_arr - 1
    landmarks = cmp_landmarks(n)
    kp = src.get("keypoints")
    if isinstance(kp, np.ndarray):
        k = np.asarray(kp, dtype=np.int64).reshape(-1)
        verts = k[0::3] // 3 if k.size == 204 else (k // 3 if k.max(initial=0) >= n else k)
        if verts.size == 68:
            landmarks.update({f"ibug_{i:02d}": int(v) for i, v in enumerate(verts)})
    return model_data(
        (mean * factor).astype(np.float32),
        w_shp * np.float32(factor),
        w_exp * np.float32(factor),
        tri_arr.astype(np.int32),
        landmarks,
        units="mm",
        id="synergynet-3ddfa",
        source_scale=factor,
    )
