"""Restricted unpickling of PyTorch zip checkpoints and NumPy pickles, without torch.

Nothing from the stream is trusted. The allow-list of callables is:
``collections.OrderedDict``, PyTorch's tensor-rebuild functions and typed
storage names, and NumPy's ``ndarray`` reconstruction (``_reconstruct``,
``_frombuffer``, ``dtype``, ``scalar``); each is replaced by a function of this
module that records its arguments in an inert placeholder. Arrays are built
only after their metadata is proven:

- dtypes are plain numbers (bool, int, uint, float, complex; no objects,
  strings, records or sub-arrays); a dtype's pickled state may only choose the
  byte order;
- a tensor's storage is one of the archive's own ``data/<key>`` records, read
  with a size bound; offset, sizes and strides are non-negative integers (not
  booleans) and the tensor's furthest element lies inside the storage; the
  element count is bounded by :mod:`cmp_edge._safe.limits` (a zero stride cannot
  stretch a small storage into gigabytes);
- a NumPy array's raw bytes are exactly shape x itemsize long.

Any other class becomes an inert :class:`Opaque` placeholder, so loading never
runs foreign code. Violations raise ``pickle.UnpicklingError`` (callers map it
to their domain error, see :mod:`cmp_edge._safe.boundary`).
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import re
import zipfile
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from cmp_edge._safe.limits import get_limits

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
_NUMERIC_KINDS = frozenset("biufc")
_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
_MAX_NDIM = 32
_MAX_NESTING = 200


def _fail(message: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(message)


def _index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(f"{what} must be a non-negative integer, got {value!r:.40}")
    return value


def _indices(values: Any, what: str) -> tuple[int, ...]:
    if not isinstance(values, (tuple, list)) or len(values) > _MAX_NDIM:
        raise _fail(f"{what} must be a tuple of at most {_MAX_NDIM} integers")
    return tuple(_index(v, what) for v in values)


def _numeric(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise _fail(f"dtype {dtype} is not a plain numeric type")
    return dtype


def _count(shape: tuple[int, ...]) -> int:
    count = math.prod(shape)
    limit = get_limits().max_elements
    if count > limit:
        raise _fail(f"an array declares {count} elements, more than the limit {limit}")
    return count


class Opaque:
    """Stand-in for any pickled object of a class that is not allowed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __call__(self, *args: Any, **kwargs: Any) -> Opaque:
        return Opaque(*args)


class _Placeholder:
    """Something an allowed callable produced; resolved to a real value after loading."""

    value: Any = None

    def __setstate__(self, state: Any) -> None:
        raise _fail(f"unexpected state for {type(self).__name__}")


class _DType(_Placeholder):
    """``numpy.dtype(spec)``: a numeric dtype whose state may only set the byte order.

    The object dtype is recorded as such (``is_object``) for object arrays pickled
    by ``np.save`` of a dict; such arrays become their list of items, never an ndarray.
    """

    def __init__(self, spec: Any, *_: Any) -> None:
        if not isinstance(spec, str) or len(spec) > 8:
            raise _fail(f"dtype spec {spec!r:.40} is not allowed")
        dtype = np.dtype(spec)
        self.is_object = dtype.kind == "O"
        self.value = dtype if self.is_object else _numeric(dtype)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise _fail("malformed dtype state")
        if len(state) > 4 and (state[3] is not None or state[4] is not None):
            raise _fail("structured dtypes are not allowed")
        if state[1] in "<>":
            self.value = self.value.newbyteorder(state[1])


def _array_from(raw: Any, dtype: Any, shape: Any, fortran: Any) -> np.ndarray:
    if not isinstance(dtype, _DType) or dtype.is_object:
        raise _fail("array dtype is not a numeric numpy.dtype")
    dims = _indices(shape, "array shape")
    count = _count(dims)
    if isinstance(raw, (bytearray, memoryview, pickle.PickleBuffer)):
        raw = bytes(raw)
    if not isinstance(raw, bytes) or len(raw) != count * dtype.value.itemsize:
        raise _fail(f"array data does not match its shape {dims} and dtype {dtype.value}")
    flat = np.frombuffer(raw, dtype=dtype.value, count=count)
    return flat.reshape(dims, order="F" if fortran is True else "C")


class _Array(_Placeholder):
    """``numpy.core.multiarray._reconstruct(ndarray, ...)`` awaiting its state."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _fail("malformed ndarray state")
        shape, dtype, fortran, raw = state[-4:]
        if isinstance(dtype, _DType) and dtype.is_object:
            # An object array (np.save of a dict): its items, already unpickled.
            dims = _indices(shape, "array shape")
            if not isinstance(raw, list) or len(raw) != math.prod(dims):
                raise _fail("malformed object array")
            self.value = raw[0] if dims == () else _Items(raw)
            return
        self.value = _array_from(raw, dtype, shape, fortran)


class _Items(list[Any]):
    """The items of a pickled object array (resolved like a list)."""


class _Tensor(_Placeholder):
    """A checked tensor rebuilt from a storage record (its state is never applied)."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = value


class _Storage:
    """One ``data/<key>`` record of a checkpoint, as a flat array of its dtype."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


_NDARRAY = object()


def _reconstruct(cls: Any, *_: Any) -> _Array:
    if cls is not _NDARRAY:
        raise _fail("only numpy.ndarray may be reconstructed")
    return _Array()


def _frombuffer(raw: Any, dtype: Any, shape: Any, order: Any) -> _Tensor:
    return _Tensor(_array_from(raw, dtype, shape, order == "F"))


def _scalar(dtype: Any, raw: Any = None) -> Any:
    if not isinstance(dtype, _DType) or dtype.is_object:
        raise _fail("scalar dtype is not a numeric numpy.dtype")
    if not isinstance(raw, bytes) or len(raw) != dtype.value.itemsize:
        raise _fail("malformed numpy scalar")
    return np.frombuffer(raw, dtype=dtype.value)[0].item()


def _rebuild_tensor(
    storage: Any, offset: Any, size: Any, stride: Any, *_: Any, **__: Any
) -> _Tensor:
    if not isinstance(storage, _Storage):
        raise _fail("tensor storage is not one of the archive's data records")
    start = _index(offset, "storage offset")
    dims = _indices(size, "tensor size")
    steps = _indices(stride, "tensor stride")
    if len(dims) != len(steps):
        raise _fail("tensor size and stride differ in length")
    count = _count(dims)
    data = storage.data
    if count == 0:
        if start > data.size:
            raise _fail("tensor offset lies outside its storage")
        return _Tensor(np.zeros(dims, dtype=data.dtype))
    extent = start + sum((d - 1) * s for d, s in zip(dims, steps, strict=True)) + 1
    if extent > data.size:
        raise _fail(f"tensor reaches element {extent} of a storage of {data.size}")
    item = data.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[start:], shape=dims, strides=tuple(s * item for s in steps), writeable=False
    )
    return _Tensor(np.array(view))


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    if not isinstance(data, _Tensor):
        raise _fail("parameter data is not a tensor")
    return data


def _rebuild_from_type(func: Any, _new_type: Any, args: Any, _state: Any = None) -> Any:
    if func not in (_rebuild_tensor, _rebuild_parameter) or not isinstance(args, tuple):
        raise _fail("unsupported tensor subclass rebuild")
    return func(*args)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DType,
}
for _mod in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_mod}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED[(f"{_mod}.multiarray", "scalar")] = _scalar
    _ALLOWED[(f"{_mod}.numeric", "_frombuffer")] = _frombuffer


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storages: Any = None) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is not None:
            return found
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        return Opaque

    def persistent_load(self, pid: Any) -> Any:
        if self._storages is None or not isinstance(pid, tuple) or len(pid) < 3:
            raise _fail("unsupported persistent id")
        if pid[0] != "storage" or not isinstance(pid[1], _StorageType):
            raise _fail("persistent id is not a typed storage")
        key = pid[2]
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise _fail(f"storage key {key!r:.40} is not a record name")
        storage: _Storage = self._storages(key, pid[1].dtype)
        if len(pid) > 4 and _index(pid[4], "storage size") > storage.data.size:
            raise _fail(f"storage {key} is shorter than its declared size")
        return storage


def _resolve(obj: Any, depth: int = 0) -> Any:
    """A copy of the loaded tree with placeholders replaced by their values."""
    if depth > _MAX_NESTING:
        raise _fail("the pickle is nested too deeply")
    if isinstance(obj, _Placeholder):
        if obj.value is None:
            raise _fail(f"incomplete {type(obj).__name__.strip('_').lower()} in the pickle")
        return _resolve(obj.value, depth + 1)
    if isinstance(obj, dict):
        out = OrderedDict() if isinstance(obj, OrderedDict) else {}
        for key, value in obj.items():
            out[_resolve(key, depth + 1)] = _resolve(value, depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        items = [_resolve(v, depth + 1) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, _Storage):
        return Opaque()
    return obj


def _checked_stream(data: bytes) -> io.BytesIO:
    """``data`` as a stream, after proving every length field of its opcodes fits in it.

    The C unpickler allocates a frame or a counted string by its declared length
    before reading it; ``pickletools.genops`` reads the opcodes with bounded reads
    (and refuses truncated arguments), and frames are checked here.
    """
    try:
        for opcode, arg, pos in pickletools.genops(data):
            if opcode.name == "FRAME" and (pos is None or int(arg or 0) > len(data) - pos):
                raise _fail("a pickle frame is longer than the data")
    except ValueError as exc:  # truncated argument, unknown opcode
        raise _fail(f"malformed pickle ({exc})") from None
    return io.BytesIO(data)


def load_pickle(file: IO[bytes]) -> Any:
    """Unpickle NumPy arrays, dicts and plain values (other classes become Opaque).

    The rest of ``file`` is read into memory (callers bound its size first).

    Raises:
        pickle.UnpicklingError: a rule of the module docstring is broken.
    """
    return _resolve(_Unpickler(_checked_stream(file.read())).load())


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    limit = get_limits().max_bytes
    if info.file_size > limit:
        raise _fail(f"member {name} expands to {info.file_size} bytes, over the limit {limit}")
    with zf.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise _fail(f"member {name} does not have its declared size")
    return data


def load_torch_zip(path: str) -> Any:
    """Read a ``torch.save`` zip checkpoint into nested dicts of NumPy arrays.

    Storages are read only from the archive's own ``<prefix>data/<key>`` records.

    Raises:
        pickle.UnpicklingError: a rule of the module docstring is broken.
        ValueError: the zip holds no ``data.pkl``.
        zipfile.BadZipFile: a damaged archive.
    """
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        pkl = sorted(n for n in names if n.endswith("/data.pkl") or n == "data.pkl")
        if not pkl:
            raise ValueError("zip file without data.pkl (not a PyTorch checkpoint)")
        prefix = pkl[0][: -len("data.pkl")]
        cache: dict[tuple[str, str], _Storage] = {}

        def storage(key: str, dtype: np.dtype[Any]) -> _Storage:
            record = f"{prefix}data/{key}"
            if record not in names:
                raise _fail(f"storage {key} is not a record of the archive")
            if (key, dtype.str) not in cache:
                raw = _read_member(zf, record)
                if len(raw) % dtype.itemsize:
                    raise _fail(f"storage {key} is not a whole number of {dtype} values")
                cache[(key, dtype.str)] = _Storage(
                    np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
                )
            return cache[(key, dtype.str)]

        stream = _checked_stream(_read_member(zf, pkl[0]))
        return _resolve(_Unpickler(stream, storage).load())
