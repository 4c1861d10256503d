"""Size check of MATLAB .mat files before ``scipy.io.loadmat`` reads them.

``loadmat`` inflates each compressed (miCOMPRESSED) variable of a v5/v7 file
whole into memory, so a few kilobytes can declare gigabytes; a v4 file's header
sizes a read by its row and column counts. :func:`check_mat_sizes` walks the
file's top-level elements first: compressed ones are inflated in bounded steps
and discarded (counting bytes against
:attr:`~cmp_edge._safe.limits.Limits.max_bytes`), others must fit in the file.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from cmp_edge._safe.limits import check_bytes
from cmp_edge.errors import CmpEdgeError

__all__ = ["check_mat_sizes"]

_MI_MATRIX = 14
_MI_COMPRESSED = 15
_STEP = 1 << 20
_V4_ITEMSIZE = {0: 8, 1: 4, 2: 4, 3: 2, 4: 2, 5: 1}


def _inflated_size(f: BinaryIO, nbytes: int, where: str, error: type[CmpEdgeError]) -> int:
    """Bytes a deflate stream of ``nbytes`` inflates to, never holding more than a step."""
    inflater = zlib.decompressobj()
    total, left = 0, nbytes
    while left > 0 and not inflater.eof:
        chunk = f.read(min(left, _STEP))
        if not chunk:
            raise error(f"{where}: truncated compressed variable")
        left -= len(chunk)
        data = chunk
        while data and not inflater.eof:
            total += len(inflater.decompress(data, _STEP))
            check_bytes(total, where, "a compressed variable", error)
            data = inflater.unconsumed_tail
    return total


def _check_v5(f: BinaryIO, size: int, where: str, error: type[CmpEdgeError]) -> None:
    f.seek(126)
    order = "<" if f.read(2) == b"IM" else ">"
    pos = 128
    while pos + 8 <= size:
        f.seek(pos)
        mdtype, nbytes = struct.unpack(order + "II", f.read(8))
        if mdtype >> 16:  # small data element: 4 bytes of data inside the tag
            pos += 8
            continue
        if nbytes > size - pos - 8:
            raise error(
                f"{where}: a variable declares {nbytes} bytes but the file ends sooner (truncated)"
            )
        if mdtype == _MI_COMPRESSED:
            _inflated_size(f, nbytes, where, error)
        elif mdtype != _MI_MATRIX:
            raise error(f"{where}: unexpected top-level data element type {mdtype}")
        pos += 8 + nbytes + (-nbytes % 8 if mdtype == _MI_MATRIX else 0)


def _check_v4(f: BinaryIO, size: int, where: str, error: type[CmpEdgeError]) -> None:
    pos = 0
    while pos + 20 <= size:
        f.seek(pos)
        head = f.read(20)
        for order in "<>":
            mopt, rows, cols, imag, namelen = struct.unpack(order + "iiiii", head)
            if 0 <= mopt < 5000 and mopt // 1000 == (0 if order == "<" else 1):
                break
        else:
            raise error(f"{where}: not a MATLAB file (bad v4 header)")
        itemsize = _V4_ITEMSIZE.get((mopt // 10) % 10)
        if itemsize is None or rows < 0 or cols < 0 or namelen < 0:
            raise error(f"{where}: bad MATLAB v4 header")
        nbytes = rows * cols * itemsize * (2 if imag else 1)
        if namelen + nbytes > size - pos - 20:
            raise error(
                f"{where}: a variable declares {nbytes} bytes but the file ends sooner (truncated)"
            )
        pos += 20 + namelen + nbytes


def check_mat_sizes(path: Path, error: type[CmpEdgeError]) -> None:
    """Refuse a .mat file whose variables expand beyond the limits or past its end.

    Raises:
        error: a compressed variable inflates beyond ``max_bytes``, or a variable
            declares more bytes than the file holds.
    """
    where = str(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(128)
        if head.startswith(b"MATLAB") and len(head) < 128:
            raise error(f"{where}: cannot read the .mat file (truncated header)")
        if head.startswith(b"MATLAB"):
            order = "<" if head[126:128] == b"IM" else ">"
            (version,) = struct.unpack(order + "H", head[124:126])
            if version == 0x0200:
                return  # v7.3 (HDF5): refused by the reader with its own message
            _check_v5(f, size, where, error)
        else:
            _check_v4(f, size, where, error)
