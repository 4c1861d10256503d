"""Independent readers and estimators used by the synthetic-corpus tests."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import webrtcvad


def read_png(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB, non-interlaced PNG to (H, W, 3) uint8 (all five filter types)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert (depth, color, interlace) == (8, 2, 0), header
    raw = zlib.decompress(idat)
    stride = 3 * width
    out = np.zeros((height, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for r in range(height):
        kind = raw[r * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, r * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
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
            cur[i] = (line[i] + pred) & 0xFF
        out[r] = cur
        prev = cur
    return out.reshape(height, width, 3).astype(np.uint8)


def vad_voiced_fraction(pcm: np.ndarray) -> float:
    """Fraction of 20 ms frames WebRTC VAD (aggressiveness 2) calls speech."""
    vad = webrtcvad.Vad(2)
    frames = [pcm[i : i + 320] for i in range(0, len(pcm) - 320, 320)]
    return float(np.mean([vad.is_speech(f.tobytes(), 16000) for f in frames]))


def median_f0(pcm: np.ndarray, sample_rate: int = 16000) -> float:
    """Median autocorrelation pitch (Hz) over loud 40 ms frames, search range 60-400 Hz."""
    x = pcm.astype(np.float64) / 32768.0
    frame, hop = 640, 320
    lo, hi = sample_rate // 400, sample_rate // 60
    frames = np.stack([x[i : i + frame] for i in range(0, len(x) - frame, hop)])
    energy = (frames**2).mean(axis=1)
    loud = frames[energy > 0.25 * np.percentile(energy, 90)]
    f0s = []
    for f in loud:
        f = f - f.mean()
        ac = np.correlate(f, f, "full")[frame - 1 :]
        if ac[0] <= 0:
            continue
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] / ac[0] > 0.4:
            f0s.append(sample_rate / lag)
    return float(np.median(f0s))
