"""NumPy ``.npy`` data from untrusted files and ``.npz`` members, sizes proven first.

``numpy.load`` allocates the array its header declares before reading the data,
and an ``.npz`` member may be a deflate stream that expands far beyond its
file size. Here the header is read first; the dtype must be a plain number
(or, where asked for, text), the element count must fit
:mod:`cmp_edge._safe.limits`, and the declared data size must equal the bytes
the file or member really holds, before anything is allocated or mapped.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from cmp_edge._safe.limits import check_bytes, check_elements
from cmp_edge.errors import CmpEdgeError

__all__ = ["npy_header", "read_npy", "read_npy_file", "read_npz_member"]

_NUMERIC = frozenset("biufc")
_MAX_HEADER = 12 + 10000  # magic, length field and NumPy's largest accepted header


def npy_header(
    handle: IO[bytes],
    where: str,
    what: str,
    error: type[CmpEdgeError],
    text: bool = False,
    objects: bool = False,
) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """(shape, fortran_order, dtype, bytes of data) of the .npy stream at ``handle``.

    At most the largest header NumPy accepts is read (a length field cannot make it
    read more); ``handle`` is left at the start of the data. Object arrays (a
    pickle follows) are accepted only with ``objects``; their byte count is 0.
    """
    start = handle.tell()
    head = io.BytesIO(handle.read(_MAX_HEADER))
    version = np.lib.format.read_magic(head)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
    else:
        raise error(f"{where}: {what} has unknown .npy version {version}")
    handle.seek(start + head.tell())
    if objects and dtype.hasobject:
        return tuple(shape), bool(fortran), dtype, 0
    allowed = _NUMERIC | ({"U"} if text else set())
    if dtype.hasobject or dtype.kind not in allowed or dtype.fields is not None:
        raise error(f"{where}: {what} holds {dtype} data, not numbers; refusing to load it")
    count = math.prod(shape)
    check_elements(count, where, what, error)
    return tuple(shape), bool(fortran), dtype, count * dtype.itemsize


def read_npy(
    handle: IO[bytes],
    available: int,
    where: str,
    what: str,
    error: type[CmpEdgeError],
    *,
    text: bool = False,
) -> np.ndarray:
    """Read one .npy stream of ``available`` bytes (header included) into memory.

    Raises:
        error: not numeric (or text when ``text``), over the limits, or a data
            size different from what the stream holds.
    """
    start = handle.tell()
    shape, fortran, dtype, nbytes = npy_header(handle, where, what, error, text)
    used = handle.tell() - start
    if used + nbytes != available:
        raise error(f"{where}: {what} declares {nbytes} bytes of data but holds {available - used}")
    check_bytes(nbytes, where, what, error)
    raw = handle.read(nbytes)
    if len(raw) != nbytes:
        raise error(f"{where}: {what} is truncated")
    flat = np.frombuffer(raw, dtype=dtype, count=math.prod(shape))
    return flat.reshape(shape, order="F" if fortran else "C")


def read_npy_file(path: Path, where: str, error: type[CmpEdgeError]) -> np.ndarray:
    """Read a numeric ``.npy`` file (see :func:`read_npy`)."""
    with path.open("rb") as handle:
        return read_npy(handle, path.stat().st_size, where, path.name, error)


def _member_offset(path: Path, info: zipfile.ZipInfo, where: str, error: type[CmpEdgeError]) -> int:
    """Byte offset of a stored member's data inside the zip file."""
    with path.open("rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise error(f"{where}: corrupt zip member {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def read_npz_member(
    path: Path,
    zf: zipfile.ZipFile,
    name: str,
    where: str,
    error: type[CmpEdgeError],
    *,
    mmap: bool = False,
    text: bool = False,
) -> np.ndarray:
    """One member of an .npz archive: memory-mapped when stored and ``mmap``, else read.

    Raises:
        error: as :func:`read_npy`; a member expanding beyond the limits.
    """
    info = zf.getinfo(name)
    what = f"member {name}"
    check_bytes(info.file_size, where, what, error)
    if not mmap or info.compress_type != zipfile.ZIP_STORED:
        with zf.open(info) as handle:
            # zipfile's reader stops at the declared size, so the stream cannot expand further.
            return read_npy(handle, info.file_size, where, what, error, text=text)
    start = _member_offset(path, info, where, error)
    with path.open("rb") as f:
        f.seek(start)
        shape, fortran, dtype, nbytes = npy_header(f, where, what, error, text)
        data_start = f.tell()
    if data_start + nbytes != start + info.file_size:
        raise error(f"{where}: {what} declares {nbytes} bytes of data that it does not hold")
    if data_start + nbytes > path.stat().st_size:
        raise error(f"{where}: {what} is truncated")
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(
        path, dtype=dtype, mode="r", offset=data_start, shape=shape, order="F" if fortran else "C"
    )
