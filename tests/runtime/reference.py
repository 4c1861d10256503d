"""Plain NumPy re-creations of the published CMP pipeline (spec sections 1-3).

Used by the tests as independent references and by benchmarks/test_latency.py as
the "published pipeline" baselines:

- :func:`features_per_frame`: the published per-frame loop (float64 per frame).
- :func:`features_vectorised`: the same definition, all frames at once.
- :func:`vad_published`: WebRTC VAD with the published ring/call sequence.
- :func:`reconstruct_numpy`: vertices = s * (u + W_shp a_shp + W_exp a_exp).
"""

from __future__ import annotations

import functools

import numpy as np

from tests.frontend.reference import hamming, reference_filterbank

HOP, WIN, NFFT, NMELS = 160, 400, 1024, 64
PRE = 0.97


@functools.lru_cache(maxsize=1)
def mel_weights() -> np.ndarray:
    """(513, 64) Sphinx-style mel filterbank of spec section 1 (the frontend tests' reference)."""
    return reference_filterbank(NMELS, 20.0, 7200.0, NFFT, 16000)


def _window() -> np.ndarray:
    return hamming(WIN)


def features_per_frame(x: np.ndarray) -> np.ndarray:
    """The published per-frame loop: (n,) float in [-1, 1) -> (T, 64) float32 log-mel."""
    sig = np.asarray(x, np.float64) * 32768.0
    n_frames = sig.shape[0] // HOP + 1
    win, weights = _window(), mel_weights()
    prior = 0.0
    out = np.empty((n_frames, NMELS))
    for k in range(n_frames):
        frame = sig[k * HOP : min(sig.shape[0], k * HOP + WIN)]
        frame = np.resize(frame, WIN) if frame.size else np.zeros(WIN)
        pre = np.empty(WIN)
        pre[0] = frame[0] - PRE * prior
        pre[1:] = frame[1:] - PRE * frame[:-1]
        prior = frame[-1]
        spec = np.fft.rfft(pre * win, NFFT)
        power = spec.real**2 + spec.imag**2
        out[k] = np.log(np.maximum(power @ weights, 1e-5))
    return out.astype(np.float32)


def features_vectorised(x: np.ndarray) -> np.ndarray:
    """Same definition as :func:`features_per_frame`, all frames at once."""
    sig = np.asarray(x, np.float64) * 32768.0
    n = sig.shape[0]
    n_frames = n // HOP + 1
    starts = np.arange(n_frames) * HOP
    idx = starts[:, None] + np.arange(WIN)[None, :]
    lengths = np.clip(n - starts, 0, WIN)
    full = lengths == WIN
    frames = np.zeros((n_frames, WIN))
    frames[full] = sig[idx[full]]
    for k in np.flatnonzero(~full):  # at most 3 tail frames
        seg = sig[starts[k] : n]
        frames[k] = np.resize(seg, WIN) if seg.size else 0.0
    prior = np.concatenate([[0.0], frames[:-1, -1]])
    pre = np.empty_like(frames)
    pre[:, 0] = frames[:, 0] - PRE * prior
    pre[:, 1:] = frames[:, 1:] - PRE * frames[:, :-1]
    spec = np.fft.rfft(pre * _window(), NFFT, axis=1)
    power = spec.real**2 + spec.imag**2
    return np.log(np.maximum(power @ mel_weights(), 1e-5)).astype(np.float32)


def normalize(f: np.ndarray) -> np.ndarray:
    """Per-bin float32 normalisation (spec section 1)."""
    f = f.astype(np.float32)
    return (f - f.mean(axis=0)) / (f.std(axis=0) + np.float32(1.1920929e-07))


def repeat_pad(f: np.ndarray, pad_to: int = 1000) -> np.ndarray:
    """Repeat end to end to at least ``pad_to`` frames, keep the first ``pad_to``."""
    if f.shape[0] >= pad_to:
        return f
    return np.tile(f, (-(-pad_to // f.shape[0]), 1))[:pad_to]


def vad_published(x: np.ndarray) -> np.ndarray:
    """WebRTC VAD (mode 2, 20 ms, ring of 2, every ring frame re-examined each step)."""
    import collections

    import webrtcvad

    vad = webrtcvad.Vad(2)
    pcm = np.clip(np.asarray(x, np.float32) * np.float32(32768.0), -32768, 32767).astype("<i2")
    n = 320
    ring: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=2)
    triggered = False
    voiced: list[int] = []
    offset = 0
    while offset + n < pcm.shape[0]:
        item = (offset, pcm[offset : offset + n].tobytes())
        if not triggered:
            ring.append(item)
            if sum(1 for f in ring if vad.is_speech(f[1], 16000)) > 0.9 * ring.maxlen:
                triggered = True
                voiced.extend(f[0] for f in ring)
                ring.clear()
        else:
            voiced.append(offset)
            ring.append(item)
            if sum(1 for f in ring if not vad.is_speech(f[1], 16000)) > 0.9 * ring.maxlen:
                triggered = False
                ring.clear()
        offset += n
    x = np.asarray(x, np.float32)
    if not voiced:
        return np.zeros(0, np.float32)
    return np.concatenate([x[o : o + n] for o in voiced])


def reconstruct_numpy(
    mean: np.ndarray, shape_basis: np.ndarray, expr_basis: np.ndarray, params: np.ndarray
) -> np.ndarray:
    """(N, 3) = s * (mean + reshape(W_shp a + W_exp b)) with params [s, a (Ks), b (Ke)]."""
    ks = shape_basis.shape[1]
    ke = expr_basis.shape[1]
    offs = shape_basis @ params[1 : 1 + ks] + expr_basis @ params[1 + ks : 1 + ks + ke]
    return (params[0] * (mean.reshape(-1) + offs)).reshape(-1, 3).astype(np.float32)
