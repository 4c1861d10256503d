"""Fuzz bodies for audio files, PNG images and batch manifests, run inside the sandbox."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cmp_edge.errors import AudioError
from tests.hostile.craft import mutations
from tests.hostile.fuzz_facemodel import SETTINGS, _folder


def audio_bytes(fmt: str, subtype: str, channels: int = 1) -> bytes:
    import soundfile as sf

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((1600, channels)) * 0.1).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, 16000, format=fmt, subtype=subtype)
    return buf.getvalue()


def flac_declaring(total_samples: int) -> bytes:
    """A valid small FLAC whose STREAMINFO declares ``total_samples`` (36-bit field)."""
    raw = bytearray(audio_bytes("FLAC", "PCM_16"))
    (word,) = struct.unpack(">Q", raw[18:26])
    word = (word & ~((1 << 36) - 1)) | (total_samples & ((1 << 36) - 1))
    raw[18:26] = struct.pack(">Q", word)
    return bytes(raw)


def fuzz_audio() -> None:
    from cmp_edge.audio.decode import load

    folder = _folder()
    bases = {
        "wav16": audio_bytes("WAV", "PCM_16"),
        "wavf": audio_bytes("WAV", "FLOAT", 2),
        "flac": audio_bytes("FLAC", "PCM_24"),
        "ogg": audio_bytes("OGG", "VORBIS"),
    }

    @SETTINGS
    @given(kind=st.sampled_from(sorted(bases)), data=st.data())
    def run(kind: str, data: st.DataObject) -> None:
        path = folder / f"x.{kind[:4]}"
        path.write_bytes(data.draw(mutations(bases[kind])))
        try:
            load(path)
        except AudioError:
            pass

    run()


def crafted_flac_2_to_the_36_frames() -> None:
    """Kind 3: a FLAC header declaring 2^36 - 1 frames: refused before allocating."""
    from cmp_edge.audio.decode import load

    path = _folder() / "huge.flac"
    path.write_bytes(flac_declaring((1 << 36) - 1))
    try:
        load(path)
    except AudioError as exc:
        assert "max_duration_s" in str(exc), exc
    else:
        raise AssertionError("a FLAC declaring 2^36 frames loaded")


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bytes(width: int, height: int, colour: int, idat: bytes, depth: int = 8) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def fuzz_png() -> None:
    from cmp_edge.output.png import PngError, decode_png, encode_png

    rng = np.random.default_rng(1)
    valid = encode_png(rng.integers(0, 256, (7, 5, 3), dtype=np.uint8))

    @SETTINGS
    @given(
        how=st.sampled_from(["bytes", "header"]),
        raw=mutations(valid),
        width=st.sampled_from([0, 1, 5, 6, 1 << 16, (1 << 31) - 1, 1 << 31, (1 << 32) - 1]),
        height=st.sampled_from([0, 1, 7, 8, 1 << 16, (1 << 31) - 1, (1 << 32) - 1]),
        colour=st.sampled_from([0, 2, 3, 4, 6, 7]),
        filters=st.lists(st.integers(0, 6), min_size=1, max_size=9),
        extra=st.integers(-3, 3),
    )
    def run(
        how: str, raw: bytes, width: int, height: int, colour: int, filters: list[int], extra: int
    ) -> None:
        if how == "header":
            row = width * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4, 7: 1}[colour] + 1
            size = max(0, min(row * len(filters), 1 << 16) + extra)
            body = bytes(
                filters[i % len(filters)] if i % row == 0 else i & 0xFF for i in range(size)
            )
            raw = png_bytes(width, height, colour, zlib.compress(body))
        try:
            decode_png(raw)
        except PngError:
            pass

    run()


def crafted_png_bombs() -> None:
    """Kind 3: giant dimensions and a deflate bomb in IDAT; the native unfilter's check."""
    from cmp_edge._native import ext
    from cmp_edge.output.png import PngError, decode_png

    cases = [
        png_bytes(1 << 30, 1 << 30, 6, zlib.compress(b"\x00" * 100)),  # 2^60 pixels
        png_bytes(64, 64, 6, zlib.compress(bytes(1 << 28))),  # 256 MiB for a 16 kB image
    ]
    for raw in cases:
        try:
            decode_png(raw)
        except PngError:
            pass
        else:
            raise AssertionError("a PNG bomb decoded")
    for height, width, bpp in [(1 << 30, 1 << 30, 4), (1 << 62, 1 << 62, 8), (3, 1 << 61, 8)]:
        try:
            ext().png_unfilter(b"\x00" * 64, height, width, bpp)
        except ValueError:
            pass
        else:
            raise AssertionError("png_unfilter accepted a geometry larger than its data")


def fuzz_manifests() -> None:
    from cmp_edge.cli.manifest import batch_items

    folder = _folder()
    (folder / "a.wav").write_bytes(b"RIFF")
    texts = st.one_of(
        st.text(max_size=60),
        st.lists(
            st.lists(
                st.sampled_from(["a.wav", "path", "file", "", " ", "x", "b.flac"]), max_size=4
            ),
            max_size=5,
        ).map(lambda rows: "\n".join(",".join(r) for r in rows)),
        st.recursive(
            st.one_of(st.none(), st.integers(), st.text(max_size=6), st.just("a.wav")),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(["path", "x"]), c),
            max_leaves=8,
        ).map(lambda v: __import__("json").dumps(v)),
        st.sampled_from(["[" * 50_000 + "]" * 50_000, '[{"path": 1}]', "[{}]", "{}"]),
    )

    @SETTINGS
    @given(text=texts, suffix=st.sampled_from([".json", ".csv", ".txt"]))
    def run(text: str, suffix: str) -> None:
        manifest = folder / f"list{suffix}"
        manifest.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            batch_items(manifest, folder / "out", "json")
        except AudioError:
            pass
        except Exception as exc:  # OutputError (collisions) is a CmpEdgeError too
            from cmp_edge.errors import CmpEdgeError

            if not isinstance(exc, CmpEdgeError):
                raise

    run()
