"""Checks made on an audio file before it is decoded: it exists, is a file, is not empty,
and (for RIFF/WAVE) its data chunk is not cut short.

A pre-check must never refuse a file its decoder reads completely. Tools that
write WAV to a pipe cannot know the length in advance and leave a placeholder in
the header: 0 or 0xFFFFFFFF (FFmpeg, libsndfile), or a value just under 2^31
(SoX writes 0x7FFFF000 and friends). Such sizes mean "read to the end of the
file", as the decoders do, and are never reported as truncation.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Final

from cmp_edge.errors import AudioError

__all__ = ["PLACEHOLDER_MIN", "check_file", "is_placeholder_size", "riff_truncation"]

PLACEHOLDER_MIN: Final = 0x7FFF0000
"""Chunk sizes from here up (within 64 KiB of 2^31, or above) are "unknown length"."""


def is_placeholder_size(size: int) -> bool:
    """Whether a RIFF chunk size is a streaming placeholder rather than a real length."""
    return size == 0 or size >= PLACEHOLDER_MIN


def riff_truncation(path: Path, size: int) -> str | None:
    """For a RIFF/WAVE file, describe a data chunk cut short by the file's end (else None).

    Args:
        path: the file.
        size: its size in bytes.

    Returns:
        A phrase for an error message, or None (not RIFF/WAVE, complete, or written
        with a placeholder length).
    """
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        riff_size = struct.unpack("<I", head[4:8])[0]
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if is_placeholder_size(clen) or is_placeholder_size(riff_size):
                    return None
                present = size - (pos + 8)
                if clen > present:
                    return (
                        f"its header declares {clen} bytes of audio but only {present} are "
                        "present (the file is truncated)"
                    )
                return None
            if clen >= PLACEHOLDER_MIN:
                return None
            pos += 8 + clen + (clen & 1)
    return None


def check_file(path: Path, name: str) -> int:
    """Refuse a missing, non-regular, empty or truncated file; return its size in bytes.

    Args:
        path: the file (any name the file system allows).
        name: how to name it in messages.

    Raises:
        AudioError: one line naming the file, the problem and what to do.
    """
    if not path.exists():
        raise AudioError(f"{name}: file not found; check the path")
    if not path.is_file():
        raise AudioError(f"{name}: not a regular file; pass an audio file")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(f"{name}: the file is empty (0 bytes); pass a file with audio")
    try:
        problem = riff_truncation(path, size)
    except OSError as exc:
        raise AudioError(f"{name}: cannot be read ({exc.strerror}); check permissions") from None
    if problem:
        raise AudioError(f"{name}: {problem}; re-export or re-download it")
    return size
