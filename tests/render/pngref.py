"""An independent PNG encoder for tests: any colour type, depth and scanline filter.

Written from the PNG specification without cmp_edge.output.png, so that the readers
(cmp_edge.output.png) are checked against something they do not share.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["filter_rows", "png_bytes"]


def png_bytes(
    width: int, height: int, colour_type: int, rows: list[bytes], depth: int = 8, interlace: int = 0
) -> bytes:
    """PNG file bytes: IHDR, one IDAT holding ``rows`` (filter byte + scanline each), IEND."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def filter_rows(rows: np.ndarray, kind: int, bpp: int) -> list[bytes]:
    """Reference PNG filters (spec section 9) in plain Python."""
    out = []
    prev = np.zeros(rows.shape[1], dtype=np.int64)
    for row in rows.astype(np.int64):
        filtered = []
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            filtered.append((x - pred) % 256)
        out.append(bytes([kind, *filtered]))
        prev = row
    return out
