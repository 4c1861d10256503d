"""The one registry of readable audio inputs: file suffixes and leading-byte signatures.

``infer``, ``batch`` (folders and manifests) and ``stream`` all decide what is audio
with :func:`is_audio_file`: a known suffix, or (for any other name) a known
signature in the first bytes. Decoding itself tries soundfile (libsndfile) first
and PyAV (FFmpeg) for everything else (:mod:`cmp_edge.audio.reader`), so the
suffix list names what either decodes in practice; a file that matches but is
damaged fails with a clear one-line error rather than being skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

__all__ = [
    "AUDIO_SUFFIXES",
    "SNIFF_BYTES",
    "SOUNDFILE_SUFFIXES",
    "describe_suffixes",
    "is_audio_file",
    "sniff",
]

SOUNDFILE_SUFFIXES: Final = (
    ".wav",
    ".wave",
    ".flac",
    ".ogg",
    ".oga",
    ".mp3",
    ".aiff",
    ".aif",
    ".aifc",
    ".au",
    ".snd",
    ".caf",
    ".w64",
    ".rf64",
)
"""Suffixes libsndfile reads (tried first: exact, no FFmpeg needed)."""

FFMPEG_SUFFIXES: Final = (
    ".opus",
    ".m4a",
    ".m4b",
    ".mp4",
    ".aac",
    ".webm",
    ".weba",
    ".mkv",
    ".mka",
    ".mov",
    ".3gp",
    ".3g2",
    ".amr",
    ".wma",
    ".wmv",
    ".asf",
    ".avi",
    ".ac3",
    ".eac3",
    ".mp2",
    ".ape",
    ".wv",
    ".spx",
    ".ts",
    ".flv",
)
"""Suffixes of containers and codecs decoded through PyAV (FFmpeg)."""

AUDIO_SUFFIXES: Final = SOUNDFILE_SUFFIXES + FFMPEG_SUFFIXES
"""Every suffix taken as audio by ``batch`` folders, manifests, ``infer`` and ``stream``."""

SNIFF_BYTES: Final = 64
"""Leading bytes :func:`sniff` needs."""

# (offset, signature, name); checked in order.
_MAGIC: Final[tuple[tuple[int, bytes, str], ...]] = (
    (0, b"RIFF", "wav"),
    (0, b"RIFX", "wav"),
    (0, b"RF64", "wav"),
    (0, b"BW64", "wav"),
    (0, b"riff\x2e\x91\xcf\x11", "w64"),
    (0, b"fLaC", "flac"),
    (0, b"OggS", "ogg"),
    (0, b"ID3", "mp3"),
    (0, b"FORM", "aiff"),
    (0, b".snd", "au"),
    (0, b"caff", "caf"),
    (0, b"\x1a\x45\xdf\xa3", "matroska"),  # Matroska / WebM (EBML header)
    (4, b"ftyp", "mp4"),  # MP4, M4A, MOV, 3GP
    (4, b"moov", "mp4"),
    (4, b"mdat", "mp4"),
    (4, b"wide", "mp4"),
    (0, b"#!AMR", "amr"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf"),  # WMA / ASF
    (0, b"MAC ", "ape"),
    (0, b"wvpk", "wavpack"),
    (0, b"FLV", "flv"),
    (0, b"\x0b\x77", "ac3"),
)


def sniff(head: bytes) -> str | None:
    """The container named by a file's first bytes, or None when none is recognised.

    Args:
        head: the first :data:`SNIFF_BYTES` (or more) bytes of the file.

    Returns:
        A short container name ("wav", "flac", "ogg", "mp3", "mp4", "matroska", ...).
    """
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    # MPEG audio without an ID3 tag: frame sync (11 set bits); ADTS AAC has layer
    # bits 00. FF FE is left out: it is the UTF-16 byte-order mark of text files.
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and head[1] != 0xFE:
        return "aac" if (head[1] & 0x06) == 0 else "mp3"
    return None


def is_audio_file(path: str | os.PathLike[str] | os.PathLike[bytes] | bytes) -> bool:
    """Whether ``path`` is a regular file the decoders should be asked to read.

    A known suffix (:data:`AUDIO_SUFFIXES`, any case) is enough; other names are
    sniffed (:func:`sniff`), so an ``.m4a`` saved without a suffix is found too.
    Unreadable files count as audio when their suffix says so (they then fail
    with a clear error instead of being skipped silently).
    """
    p = Path(os.fsdecode(path))
    if p.suffix.lower() in AUDIO_SUFFIXES:
        return p.is_file()
    try:
        if not p.is_file():
            return False
        with p.open("rb") as handle:
            return sniff(handle.read(SNIFF_BYTES)) is not None
    except OSError:
        return False


def describe_suffixes(limit: int = 10) -> str:
    """Short human list of accepted suffixes for messages (".wav, .flac, ... and N more")."""
    shown = ", ".join(AUDIO_SUFFIXES[:limit])
    rest = len(AUDIO_SUFFIXES) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
