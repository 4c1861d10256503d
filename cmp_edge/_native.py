"""The only importer of the compiled core ``cmp_edge._C``, and the CUDA probe.

:func:`ext` returns the extension module (imported on first use). Is CUDA usable
here? One answer for every part of cmp-edge:

Whether ``cmp_edge._C`` holds CUDA kernels is fixed when it is built
(``_C.has_cuda()``); whether a GPU can be used is a run-time fact, and ONNX
Runtime's CUDA provider needs no kernels of ours. So :func:`device_count` asks
the extension when it was built with CUDA and otherwise asks the CUDA driver
directly (``libcuda``: ``cuInit`` + ``cuDeviceGetCount``) through ctypes.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

from cmp_edge._safe.numbers import thread_count
from cmp_edge.errors import ModelError

__all__ = [
    "available_cores",
    "device_count",
    "driver_device_count",
    "ext",
    "native_kernels",
    "resolve_threads",
]

_DRIVER_NAMES = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so")


def ext() -> Any:
    """The compiled extension ``cmp_edge._C``.

    Raises:
        ImportError: the extension was not built (``pip install -e .`` builds it).
    """
    from cmp_edge import _C

    return _C


def native_kernels() -> bool:
    """True when ``cmp_edge._C`` exists and was built with CUDA kernels. Never raises."""
    try:
        return bool(ext().has_cuda())
    except Exception:
        return False


def driver_device_count() -> int:
    """CUDA devices reported by the driver library; 0 when it is missing or fails. Never raises."""
    for name in _DRIVER_NAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            if lib.cuInit(0) != 0:
                return 0
            count = ctypes.c_int(0)
            if lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
            return max(0, int(count.value))
        except Exception:  # missing symbols, odd builds
            return 0
    return 0


def device_count() -> int:
    """Usable CUDA devices: ``_C.cuda_device_count()`` when the extension has CUDA
    kernels, else the driver's count (:func:`driver_device_count`). Never raises."""
    if native_kernels():
        try:
            return max(0, int(ext().cuda_device_count()))
        except Exception:
            return 0
    return driver_device_count()


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one), >= 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int | None, what: str = "threads") -> int:
    """The one meaning of ``threads`` in cmp-edge: None = all available cores, else the
    given count, never more than :func:`available_cores`.

    Raises:
        ModelError: not None and not a positive integer (booleans and floats refused).
    """
    cores = available_cores()
    return thread_count(threads, what, ModelError, cores) or cores
