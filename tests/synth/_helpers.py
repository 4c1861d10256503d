"""Independent estimators used by the synthetic-corpus tests (PNGs: cmp_edge.output.png.read_png,
checked against the independent encoder in tests/render/pngref.py)."""

from __future__ import annotations

import numpy as np
import webrtcvad


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
