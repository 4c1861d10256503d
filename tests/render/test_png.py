"""PNG writer and reader."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmp_edge.errors import CmpEdgeError, OutputError
from cmp_edge.output.png import PngError, decode_png, encode_png, read_png, write_png
from tests.render.pngref import filter_rows, png_bytes


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (16, 9, 3), (3, 300, 4), (128, 128, 3)])
def test_round_trip(tmp_path: Path, shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "i.png"
    write_png(path, image)
    back = read_png(path)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
@pytest.mark.parametrize(("colour_type", "channels"), [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_reads_every_filter_and_colour_type(kind: int, colour_type: int, channels: int) -> None:
    image = np.random.default_rng(kind).integers(0, 256, (6, 5, channels), dtype=np.uint8)
    rows = image.reshape(6, 5 * channels)
    data = png_bytes(5, 6, colour_type, filter_rows(rows, kind, channels))
    back = decode_png(data)
    np.testing.assert_array_equal(back, image[:, :, 0] if channels == 1 else image)


def test_written_png_is_standard() -> None:
    data = encode_png(np.zeros((2, 3, 3), dtype=np.uint8))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    assert (width, height, depth, colour_type, interlace) == (3, 2, 8, 2, 0)
    assert data.endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a", "not a PNG"),
        (png_bytes(2, 2, 3, [b"\x00\x00\x00"] * 2), "colour type 3"),
        (png_bytes(2, 2, 2, [b"\x00" + b"\x00" * 12] * 2, depth=16), "bit depth 16"),
        (png_bytes(2, 2, 2, [b"\x00" + b"\x00" * 6] * 2, interlace=1), "interlaced"),
        (png_bytes(2, 2, 2, [b"\x00" + b"\x00" * 6]), "bytes after decompression"),
        (png_bytes(2, 2, 2, [b"\x07" + b"\x00" * 6] * 2), "unknown filter type 7"),
    ],
    ids=["signature", "palette", "16-bit", "interlaced", "short-data", "bad-filter"],
)
def test_unsupported_or_corrupt(data: bytes, message: str) -> None:
    with pytest.raises(PngError, match=message):
        decode_png(data)


def test_truncated_and_bad_crc(tmp_path: Path) -> None:
    good = encode_png(np.full((4, 4, 3), 7, dtype=np.uint8))
    with pytest.raises(PngError, match="truncated"):
        decode_png(good[:-20])
    bad = bytearray(good)
    bad[40] ^= 0xFF  # inside the IDAT payload
    with pytest.raises(PngError, match="CRC"):
        decode_png(bytes(bad))
    with pytest.raises(PngError, match="cannot read"):
        read_png(tmp_path / "missing.png")
    assert issubclass(PngError, CmpEdgeError)


def test_write_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shape"):
        write_png(tmp_path / "a.png", np.zeros((2, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "a.png", np.full((2, 2), 300))
    with pytest.raises(ValueError, match="empty"):
        write_png(tmp_path / "a.png", np.zeros((0, 2, 3), dtype=np.uint8))
    with pytest.raises(OutputError):
        write_png(tmp_path / "missing" / "a.png", np.zeros((2, 2, 3), dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    channels=st.sampled_from([1, 3, 4]),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_property(height: int, width: int, channels: int, seed: int) -> None:
    shape = (height, width) if channels == 1 else (height, width, channels)
    image = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(encode_png(image)), image)
