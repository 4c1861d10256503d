"""Restricted unpickling of PyTorch zip checkpoints and NumPy pickles, without torch.

Only NumPy array reconstruction, ``collections.OrderedDict`` and PyTorch's
tensor-rebuild functions are honoured; any other class in the stream becomes
an inert :class:`Opaque` placeholder, so loading never runs foreign code.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from typing import IO, Any

import numpy as np

__all__ = ["Opaque", "load_pickle", "load_torch_zip"]

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class Opaque:
    """Stand-in for any pickled object of a class that is not allowed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __call__(self, *args: Any, **kwargs: Any) -> Opaque:
        return Opaque(*args)


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype = _STORAGE_DTYPES.get(name)
        self.name = name


def _rebuild_tensor(
    storage: Any, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> Any:
    if not isinstance(storage, np.ndarray):
        return Opaque(storage)
    item = storage.itemsize
    count = 1 + sum((s - 1) * st for s, st in zip(size, stride, strict=True)) if all(size) else 0
    if offset + count > storage.size:
        raise ValueError("tensor exceeds its storage (truncated checkpoint)")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(st * item for st in stride)
    )
    return np.array(view)


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


def _rebuild_from_type(func: Any, _new_type: Any, args: Any, _state: Any) -> Any:
    return func(*args)


_NUMPY_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storages: Any = None) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_ALLOWED:
            return super().find_class(module, name)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch._tensor" and name == "_rebuild_from_type_v2":
            return _rebuild_from_type
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        return Opaque

    def persistent_load(self, pid: Any) -> Any:
        if self._storages is None or not isinstance(pid, tuple) or pid[0] != "storage":
            raise pickle.UnpicklingError("unsupported persistent id")
        storage_type, key = pid[1], str(pid[2])
        dtype = getattr(storage_type, "dtype", None)
        if dtype is None:
            return Opaque(pid)
        return self._storages(key, dtype)


def load_pickle(file: IO[bytes]) -> Any:
    """Unpickle NumPy arrays, dicts and plain values (other classes become Opaque)."""
    return _Unpickler(file).load()


def load_torch_zip(path: str) -> Any:
    """Read a ``torch.save`` zip checkpoint into nested dicts of NumPy arrays."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise ValueError("zip file without data.pkl (not a PyTorch checkpoint)")
        prefix = pkl[0][: -len("data.pkl")]
        cache: dict[str, np.ndarray] = {}

        def storage(key: str, dtype: Any) -> np.ndarray:
            if key not in cache:
                raw = zf.read(f"{prefix}data/{key}")
                cache[key] = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
            return cache[key]

        return _Unpickler(io.BytesIO(zf.read(pkl[0])), storage).load()
