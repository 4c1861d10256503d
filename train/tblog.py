"""TensorBoard-compatible scalar event files without the tensorboard package.

Writes ``events.out.tfevents.<time>.<host>`` files: TFRecord framing (length,
masked CRC-32C of the length, payload, masked CRC-32C of the payload) around
hand-encoded ``Event`` protocol buffers carrying ``Summary.Value.simple_value``
scalars. TensorBoard reads them like the files of ``torch.utils.tensorboard``.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

__all__ = ["EventWriter", "crc32c", "read_scalars"]


def _crc_table() -> list[int]:
    poly, table = 0x82F63B78, []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``."""
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint((number << 3) | wire) + payload


def _bytes_field(number: int, data: bytes) -> bytes:
    return _field(number, 2, _varint(len(data)) + data)


def _event(wall_time: float, step: int, body: bytes) -> bytes:
    return _field(1, 1, struct.pack("<d", wall_time)) + _field(2, 0, _varint(step)) + body


class EventWriter:
    """Appends scalar summaries to a new event file in ``folder``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
        self.path = self.folder / name
        self._handle = self.path.open("ab")
        self._write(_event(time.time(), 0, _bytes_field(3, b"brain.Event:2")))

    def _write(self, record: bytes) -> None:
        header = struct.pack("<Q", len(record))
        self._handle.write(header + struct.pack("<I", _masked(header)))
        self._handle.write(record + struct.pack("<I", _masked(record)))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Write one event holding every ``tag -> value`` at ``step``."""
        summary = b"".join(
            _bytes_field(1, _bytes_field(1, tag.encode()) + _field(2, 5, struct.pack("<f", v)))
            for tag, v in values.items()
        )
        self._write(_event(time.time(), step, _bytes_field(5, summary)))
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, bytes | int]]:
    pos = 0
    out: list[tuple[int, bytes | int]] = []
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            out.append((number, value))
        elif wire == 1:
            out.append((number, buf[pos : pos + 8]))
            pos += 8
        elif wire == 5:
            out.append((number, buf[pos : pos + 4]))
            pos += 4
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            out.append((number, buf[pos : pos + n]))
            pos += n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def read_scalars(path: str | os.PathLike[str]) -> list[tuple[int, str, float]]:
    """(step, tag, value) of every scalar in an event file; checks every CRC."""
    data = Path(path).read_bytes()
    pos, out = 0, []
    while pos < len(data):
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        if struct.unpack("<I", data[pos + 8 : pos + 12])[0] != _masked(header):
            raise ValueError(f"{path}: bad length CRC at byte {pos}")
        record = data[pos + 12 : pos + 12 + length]
        if struct.unpack("<I", data[pos + 12 + length : pos + 16 + length])[0] != _masked(record):
            raise ValueError(f"{path}: bad record CRC at byte {pos}")
        pos += 16 + length
        step = 0
        for number, value in _fields(record):
            if number == 2 and isinstance(value, int):
                step = value
            if number == 5 and isinstance(value, bytes):
                for _, val in _fields(value):
                    assert isinstance(val, bytes)
                    parts = dict(_fields(val))
                    tag, raw = parts[1], parts[2]
                    assert isinstance(tag, bytes) and isinstance(raw, bytes)
                    out.append((step, tag.decode(), struct.unpack("<f", raw)[0]))
    return out
