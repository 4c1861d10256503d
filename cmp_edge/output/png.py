"""PNG files without Pillow: an 8-bit writer and a reader for the PNGs cmp-edge writes.

The writer produces non-interlaced 8-bit greyscale, RGB or RGBA PNGs (colour
types 0, 2, 6) with one zlib stream and the "Up" scanline filter. The reader
accepts non-interlaced 8-bit PNGs of colour types 0, 2, 4 and 6 with any of
the five standard scanline filters, which covers what cmp-edge writes and
what most tools write for such images; palette, 16-bit and interlaced files
raise :class:`PngError`.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cmp_edge._safe.atomic import write_chunks
from cmp_edge._safe.limits import check_bytes, get_limits
from cmp_edge.errors import CmpEdgeError

__all__ = ["PngError", "decode_png", "encode_png", "read_png", "write_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_SIDE = (1 << 31) - 1  # PNG widths and heights are at most 2^31 - 1
# colour type -> channels
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


class PngError(CmpEdgeError):
    """A PNG file is unreadable, corrupt, or of a kind this reader does not support."""


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(image: npt.ArrayLike, *, compression: int = 6) -> bytes:
    """Encode an image as PNG bytes.

    Args:
        image: uint8 array of shape (H, W) (grey), (H, W, 3) (RGB) or (H, W, 4)
            (RGBA), rows top to bottom. Other integer dtypes are accepted if
            every value lies in [0, 255].
        compression: zlib level 0-9.

    Raises:
        ValueError: wrong shape, empty image, or values outside [0, 255].
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"image must have shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    height, width, channels = arr.shape
    if height == 0 or width == 0:
        raise ValueError(f"image must not be empty, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() > 255:
            raise ValueError(f"image must be uint8 (or integers in [0, 255]), got {arr.dtype}")
        arr = arr.astype(np.uint8)
    if not 0 <= compression <= 9:
        raise ValueError(f"compression must be 0-9, got {compression}")
    rows = np.ascontiguousarray(arr).reshape(height, width * channels)
    # "Up" filter: each byte minus the byte above (mod 256); the first row is
    # filtered against zeros, which leaves it unchanged.
    filtered = np.empty((height, width * channels + 1), dtype=np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"".join(
        [
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(filtered.tobytes(), compression)),
            _chunk(b"IEND", b""),
        ]
    )


def write_png(
    path: str | os.PathLike[str], image: npt.ArrayLike, *, overwrite: bool = True
) -> None:
    """Write ``image`` (see :func:`encode_png`) to ``path`` atomically.

    Raises:
        OutputError: the folder is missing or unwritable, or the file exists and
            ``overwrite`` is False.
        ValueError: the image cannot be encoded.
    """
    write_chunks(path, (encode_png(image),), overwrite=overwrite)


def decode_png(data: bytes, *, source: str = "<bytes>") -> npt.NDArray[np.uint8]:
    """Decode PNG bytes into an array (H, W) grey, (H, W, 2) grey+alpha, (H, W, 3) or (H, W, 4).

    Raises:
        PngError: not a PNG, corrupt (bad CRC, truncated, bad zlib stream, image
            data of another size than the header says), larger than
            :attr:`~cmp_edge._safe.limits.Limits.max_image_pixels`, or not an 8-bit
            non-interlaced grey/RGB/grey-alpha/RGBA image.
    """
    from cmp_edge._native import ext

    _C = ext()

    if not data.startswith(_SIGNATURE):
        raise PngError(f"{source}: not a PNG file (bad signature)")
    pos = len(_SIGNATURE)
    header: tuple[int, ...] | None = None
    idat: list[bytes] = []
    ended = False
    while pos < len(data):
        if pos + 8 > len(data):
            raise PngError(f"{source}: truncated PNG (incomplete chunk header at byte {pos})")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise PngError(f"{source}: truncated PNG (chunk {kind!r} runs past the end)")
        payload = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF != crc:
            raise PngError(f"{source}: corrupt PNG (CRC mismatch in chunk {kind!r})")
        if kind == b"IHDR":
            if length != 13:
                raise PngError(f"{source}: corrupt PNG (IHDR has {length} bytes, expected 13)")
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat.append(payload)
        elif kind == b"IEND":
            ended = True
            break
        pos = end
    if header is None:
        raise PngError(f"{source}: corrupt PNG (no IHDR chunk)")
    if not ended:
        raise PngError(f"{source}: truncated PNG (no IEND chunk)")
    width, height, depth, colour_type, method, filter_method, interlace = header
    if depth != 8 or colour_type not in _CHANNELS:
        raise PngError(
            f"{source}: unsupported PNG (bit depth {depth}, colour type {colour_type}); "
            "only 8-bit grey, grey+alpha, RGB and RGBA are read"
        )
    if interlace != 0:
        raise PngError(f"{source}: unsupported PNG (interlaced); re-save it without interlacing")
    if method != 0 or filter_method != 0:
        raise PngError(f"{source}: corrupt PNG (unknown compression or filter method)")
    if width == 0 or height == 0 or width > _MAX_SIDE or height > _MAX_SIDE:
        raise PngError(f"{source}: corrupt PNG (width {width}, height {height})")
    pixels, limit = width * height, get_limits().max_image_pixels
    if pixels > limit:
        raise PngError(
            f"{source}: PNG of {width} x {height} pixels is larger than the limit of {limit} "
            "pixels; raise cmp_edge.limits max_image_pixels if it is genuine"
        )
    channels = _CHANNELS[colour_type]
    expected = height * (width * channels + 1)
    inflater = zlib.decompressobj()
    try:
        # Inflate at most one byte more than the image needs: a deflate bomb stops here.
        raw = inflater.decompress(b"".join(idat), expected + 1)
    except zlib.error as exc:
        raise PngError(f"{source}: corrupt PNG image data ({exc})") from None
    if len(raw) != expected or not inflater.eof:
        got = f"more than {expected}" if len(raw) > expected else str(len(raw))
        unfinished = "" if inflater.eof or len(raw) > expected else "; stream unfinished"
        raise PngError(
            f"{source}: corrupt PNG ({got} bytes after decompression{unfinished}; "
            f"{width} x {height} pixels need {expected})"
        )
    try:
        rows = _C.png_unfilter(raw, height, width, channels)
    except ValueError as exc:
        raise PngError(f"{source}: corrupt PNG ({exc})") from None
    image = rows.reshape(height, width, channels)
    return image[:, :, 0] if channels == 1 else image


def read_png(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """Read an 8-bit PNG file; see :func:`decode_png` for the shapes and errors.

    Raises:
        PngError: the file is missing, unreadable, or not a supported PNG.
    """
    target = Path(path)
    try:
        check_bytes(target.stat().st_size, str(target), "the PNG file", PngError)
        data = target.read_bytes()
    except OSError as exc:
        raise PngError(f"{target}: cannot read ({exc.strerror})") from None
    return decode_png(data, source=str(target))
