"""Source-filter voice synthesiser of the synthetic paired corpus (16 kHz, NumPy/SciPy).

One utterance is a random sequence of phrases separated by pauses; a phrase is
a random sequence of vowel-like segments (voiced glottal pulses through a
cascade of formant resonators), fricative segments (noise through a wide
resonator) and short stop closures. Background noise and a random gain are
added at the end. The model and its equations are documented in
``train/README.md`` ("Synthetic paired corpus").

Speaker-constant properties (:class:`Speaker`) are chosen by
:func:`speaker_from_factors` from the identity's face-geometry factors plus
independent nuisance; everything else (phrasing, vowel sequence, intonation,
noise, gain) varies per utterance with the generator passed in.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import signal

__all__ = [
    "SAMPLE_RATE",
    "VOICE_FACTORS",
    "Speaker",
    "speaker_from_factors",
    "synthesize",
]

from cmp_edge.audio.signal import SAMPLE_RATE  # noqa: E402

#: Reference vocal-tract length (cm) of the formant table below.
REFERENCE_VTL_CM = 17.5

# Adult-male formant targets F1..F4 (Hz) of ten vowel qualities
# (i, ɪ, e, ɛ, æ, a, ɔ, o, u, ə); classic textbook averages, rounded.
_VOWELS = np.array(
    [
        [270.0, 2290.0, 3010.0, 3500.0],
        [390.0, 1990.0, 2550.0, 3500.0],
        [480.0, 2050.0, 2600.0, 3550.0],
        [530.0, 1840.0, 2480.0, 3500.0],
        [660.0, 1720.0, 2410.0, 3450.0],
        [730.0, 1090.0, 2440.0, 3400.0],
        [570.0, 840.0, 2410.0, 3400.0],
        [450.0, 900.0, 2400.0, 3350.0],
        [300.0, 870.0, 2240.0, 3350.0],
        [500.0, 1500.0, 2500.0, 3500.0],
    ]
)
_BANDWIDTHS = np.array([70.0, 90.0, 130.0, 180.0, 250.0])
_F5_REFERENCE = 4500.0
# Fricative noise resonances (centre Hz at the reference length, bandwidth Hz): s, ʃ, f, x.
_FRICATIVES = np.array([[5200.0, 1400.0], [3000.0, 900.0], [4500.0, 3500.0], [1800.0, 700.0]])

#: Names of the voice factors, in the order of :func:`speaker_from_factors`' weights.
VOICE_FACTORS = ("vtl", "f0", "f1", "f2")

# Kinds of segment in an utterance plan.
_SILENCE, _VOWEL, _FRICATIVE = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Speaker:
    """Speaker-constant parameters of the source-filter model.

    Attributes:
        f0_hz: mean fundamental frequency of the glottal source.
        vtl_cm: vocal-tract length; every formant scales by 17.5 / vtl_cm.
        f1_scale: extra factor on F1 only (pharynx / jaw opening).
        f2_scale: extra factor on F2 and F3 (oral cavity / tongue body).
        open_quotient: fraction of a glottal period with the glottis open
            (0.4 pressed .. 0.8 breathy); sets the source's spectral tilt.
        jitter: standard deviation of the relative period perturbation.
        shimmer: standard deviation of the relative pulse amplitude perturbation.
        breathiness: aspiration noise level relative to the voiced source.
    """

    f0_hz: float
    vtl_cm: float
    f1_scale: float = 1.0
    f2_scale: float = 1.0
    open_quotient: float = 0.6
    jitter: float = 0.01
    shimmer: float = 0.04
    breathiness: float = 0.05

    def __post_init__(self) -> None:
        if not 50.0 <= self.f0_hz <= 500.0:
            raise ValueError(f"f0_hz must be in [50, 500], got {self.f0_hz}")
        if not 9.0 <= self.vtl_cm <= 25.0:
            raise ValueError(f"vtl_cm must be in [9, 25], got {self.vtl_cm}")
        if not 0.2 <= self.open_quotient <= 0.95:
            raise ValueError(f"open_quotient must be in [0.2, 0.95], got {self.open_quotient}")

    def as_dict(self) -> dict[str, float]:
        """The parameters as a JSON-ready dict."""
        return {k: float(v) for k, v in dataclasses.asdict(self).items()}


def speaker_from_factors(
    planted: np.ndarray,
    male: bool,
    coupling: float,
    rng: np.random.Generator,
) -> tuple[Speaker, np.ndarray]:
    """Draw a speaker whose voice depends partly on face geometry.

    Each voice factor ``v_j`` (``VOICE_FACTORS``: vocal-tract length, pitch,
    F1 scale, F2/F3 scale) is a unit-variance mix of a planted geometry
    score ``g_j`` (a standardised combination of face measurements, see
    ``train.synth_faces``) and independent nuisance::

        v_j = c * g_j + sqrt(1 - c^2) * n_j,   n_j ~ N(0, 1),   c = coupling

    so that ``corr(v_j, g_j) = c``. The physical parameters then are::

        vtl  = L_g * exp(0.07 * v_vtl)      L_g = 17.5 cm (m), 14.8 cm (f)
        f0   = F_g * exp(-0.13 * v_f0)        F_g = 115 Hz (m), 205 Hz (f)
        f1_scale = exp(0.06 * v_f1)
        f2_scale = exp(0.05 * v_f2)

    Open quotient, jitter, shimmer and breathiness are pure nuisance.

    Args:
        planted: (len(VOICE_FACTORS),) standardised geometry scores ``g``.
        male: the identity's gender.
        coupling: ``c`` in [0, 1]; 0 makes the voice independent of the face.
        rng: source of the nuisance.

    Returns:
        The speaker and the (len(VOICE_FACTORS),) voice factors ``v``.
    """
    if not 0.0 <= coupling <= 1.0:
        raise ValueError(f"coupling must be in [0, 1], got {coupling}")
    g = np.asarray(planted, dtype=np.float64)
    if g.shape != (len(VOICE_FACTORS),):
        raise ValueError(f"planted must have shape ({len(VOICE_FACTORS)},), got {g.shape}")
    nuisance = rng.standard_normal(len(VOICE_FACTORS))
    v = coupling * g + math.sqrt(1.0 - coupling**2) * nuisance
    speaker = Speaker(
        vtl_cm=(17.5 if male else 14.8) * math.exp(0.07 * v[0]),
        f0_hz=float(np.clip((115.0 if male else 205.0) * math.exp(-0.13 * v[1]), 60.0, 400.0)),
        f1_scale=math.exp(0.06 * v[2]),
        f2_scale=math.exp(0.05 * v[3]),
        open_quotient=float(rng.uniform(0.5, 0.7)),
        jitter=float(rng.uniform(0.005, 0.02)),
        shimmer=float(rng.uniform(0.02, 0.08)),
        breathiness=float(rng.uniform(0.02, 0.12)),
    )
    return speaker, v


def _plan(n: int, rate: float, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Random segment plan ``(kind, start, end, variant)`` covering ``[0, n)``."""
    fs = SAMPLE_RATE
    plan: list[tuple[int, int, int, int]] = []
    t = int(rng.uniform(0.15, 0.45) * fs)
    plan.append((_SILENCE, 0, t, 0))
    tail = int(0.3 * fs)
    while t < n - tail:
        phrase_end = min(t + int(rng.uniform(0.7, 1.9) * fs), n - tail)
        while t < phrase_end:
            u = rng.random()
            if u < 0.68:
                kind, dur = _VOWEL, rng.uniform(0.07, 0.24)
                variant = int(rng.integers(len(_VOWELS)))
            elif u < 0.9:
                kind, dur = _FRICATIVE, rng.uniform(0.05, 0.13)
                variant = int(rng.integers(len(_FRICATIVES)))
            else:
                kind, dur, variant = _SILENCE, rng.uniform(0.02, 0.06), 0
            end = min(t + max(int(dur / rate * fs), 160), phrase_end)
            plan.append((kind, t, end, variant))
            t = end
        pause_end = min(t + int(rng.uniform(0.3, 0.75) * fs), n)
        plan.append((_SILENCE, t, pause_end, 0))
        t = pause_end
    if t < n:
        plan.append((_SILENCE, t, n, 0))
    return plan


def _resonator_sos(freqs: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Cascade of unity-DC-gain 2nd-order resonators as an SOS array (K, 6).

    Each section is ``y[n] = A x[n] + B y[n-1] + C y[n-2]`` with
    ``C = -exp(-2 pi bw / fs)``, ``B = 2 exp(-pi bw / fs) cos(2 pi f / fs)``,
    ``A = 1 - B - C``.
    """
    fs = SAMPLE_RATE
    c = -np.exp(-2.0 * np.pi * bandwidths / fs)
    b = 2.0 * np.exp(-np.pi * bandwidths / fs) * np.cos(2.0 * np.pi * freqs / fs)
    a0 = 1.0 - b - c
    sos = np.zeros((len(freqs), 6))
    sos[:, 0] = a0
    sos[:, 3] = 1.0
    sos[:, 4] = -b
    sos[:, 5] = -c
    return sos


def _raised_cosine(length: int, ramp: int) -> np.ndarray:
    """Window of ``length`` ones with raised-cosine ramps of ``ramp`` samples at both ends."""
    w = np.ones(length)
    r = min(ramp, length // 2)
    if r > 0:
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(r) + 0.5) / r)
        w[:r] = edge
        w[length - r :] = edge[::-1]
    return w


def _glottal_source(speaker: Speaker, f0_track: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Differentiated Rosenberg glottal flow with jitter, shimmer and aspiration.

    Period k lasts ``T_k = fs / f0(t_k) * (1 + jitter * e_k)`` samples and has
    amplitude ``1 + shimmer * s_k``; within it, at phase ``p`` in [0, 1) and
    open quotient ``OQ`` (rising part ``0.7 OQ``, closing ``0.3 OQ``)::

        g(p) = 0.5 (1 - cos(pi p / (0.7 OQ)))           p < 0.7 OQ
        g(p) = cos(pi (p - 0.7 OQ) / (2 * 0.3 OQ))      0.7 OQ <= p < OQ
        g(p) = 0                                        otherwise

    The excitation is the first difference of the flow (glottal derivative and
    lip radiation together) plus flow-modulated white aspiration noise.
    """
    fs = SAMPLE_RATE
    n = len(f0_track)
    jitter = (1.0 + speaker.jitter * rng.standard_normal(int(n * 600 / fs) + 16)).tolist()
    period = (fs / f0_track).tolist()
    edges_list = [0.0]
    t = 0.0
    while t < n:
        t += max(period[int(t)] * jitter[len(edges_list)], 8.0)
        edges_list.append(t)
    edges = np.asarray(edges_list)
    amps = 1.0 + speaker.shimmer * rng.standard_normal(len(edges) - 1)
    idx = np.arange(n, dtype=np.float64)
    k = np.searchsorted(edges, idx, side="right") - 1
    phase = (idx - edges[k]) / (edges[k + 1] - edges[k])
    oq = speaker.open_quotient
    rise, fall = 0.7 * oq, 0.3 * oq
    flow = np.zeros(n)
    opening = phase < rise
    closing = ~opening & (phase < oq)
    flow[opening] = 0.5 - 0.5 * np.cos(np.pi / rise * phase[opening])
    flow[closing] = np.cos(0.5 * np.pi / fall * (phase[closing] - rise))
    flow *= amps[k]
    excitation = np.diff(flow, prepend=0.0)
    aspiration = rng.standard_normal(n) * flow
    scale = np.pi * f0_track / fs  # the derivative's size grows with f0; keep it level
    return excitation / np.maximum(scale, 1e-6) * 0.5 + speaker.breathiness * aspiration


def _f0_track(
    speaker: Speaker,
    plan: list[tuple[int, int, int, int]],
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per-sample f0: speaker mean x utterance offset x phrase declination x accents."""
    fs = SAMPLE_RATE
    semitones = np.zeros(n)
    # phrase declination: from +1.5 to -1.5 semitones over each run of non-pause segments
    phrase_start = None
    for kind, start, end, _ in [*plan, (_SILENCE, n, n, 0)]:
        long_pause = kind == _SILENCE and end - start > int(0.2 * fs)
        if long_pause and phrase_start is not None:
            length = start - phrase_start
            semitones[phrase_start:start] += np.linspace(1.5, -1.5, length)
            phrase_start = None
        elif not long_pause and phrase_start is None:
            phrase_start = start
    # pitch accents: Gaussian bumps on some vowels
    t = np.arange(n)
    for kind, start, end, _ in plan:
        if kind == _VOWEL and rng.random() < 0.3:
            centre = 0.5 * (start + end)
            width = 0.08 * fs
            lo, hi = int(max(0, centre - 3 * width)), int(min(n, centre + 3 * width))
            bump = rng.uniform(1.0, 3.5) * np.exp(-0.5 * ((t[lo:hi] - centre) / width) ** 2)
            semitones[lo:hi] += bump
    offset = rng.normal(0.0, 0.6)  # utterance-level pitch offset, semitones
    return speaker.f0_hz * 2.0 ** ((semitones + offset) / 12.0)


def synthesize(speaker: Speaker, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Synthesise one utterance of ``speaker``: float32 mono, 16 kHz, peak < 1.

    Args:
        speaker: speaker-constant parameters.
        seconds: length of the utterance (at least 1 s); pauses included.
        rng: source of all per-utterance randomness (the same state gives the
            same samples).

    Returns:
        ``round(seconds * 16000)`` float32 samples in (-1, 1).
    """
    if not 1.0 <= seconds <= 60.0:
        raise ValueError(f"seconds must be in [1, 60], got {seconds}")
    fs = SAMPLE_RATE
    n = int(round(seconds * fs))
    rate = rng.uniform(0.85, 1.2)  # speaking rate
    plan = _plan(n, rate, rng)
    f0 = _f0_track(speaker, plan, n, rng)
    source = _glottal_source(speaker, f0, rng)

    length_ratio = REFERENCE_VTL_CM / speaker.vtl_cm
    ramp = int(0.012 * fs)
    ring = int(0.03 * fs)  # let each segment's filter ring out
    speech = np.zeros(n + ring)
    for kind, start, end, variant in plan:
        length = end - start
        if kind == _VOWEL:
            formants = _VOWELS[variant] * length_ratio * rng.uniform(0.97, 1.03, 4)
            formants[0] *= speaker.f1_scale
            formants[1:3] *= speaker.f2_scale
            freqs = np.append(formants, _F5_REFERENCE * length_ratio)
            freqs = np.minimum(freqs, 0.45 * fs)
            seg = source[start:end] * _raised_cosine(length, ramp)
            sos = _resonator_sos(freqs, _BANDWIDTHS)
            gain = rng.uniform(0.7, 1.0)
        elif kind == _FRICATIVE:
            centre, bw = _FRICATIVES[variant]
            freqs = np.array([min(centre * length_ratio, 0.42 * fs)])
            seg = rng.standard_normal(length) * _raised_cosine(length, ramp)
            sos = _resonator_sos(freqs, np.array([bw]))
            # unity DC gain leaves high resonances much louder; bring to ~-12 dB of vowels
            gain = rng.uniform(0.1, 0.25) * bw / freqs[0]
        else:
            continue
        out = signal.sosfilt(sos, np.concatenate([seg, np.zeros(ring)]))
        speech[start : end + ring] += gain * out
    speech = speech[:n]

    active = np.abs(speech) > 1e-9
    level = float(np.sqrt(np.mean(speech[active] ** 2))) if active.any() else 1.0
    speech /= level
    snr_db = rng.uniform(18.0, 35.0)
    noise = signal.lfilter([1.0], [1.0, -rng.uniform(0.0, 0.9)], rng.standard_normal(n))
    noise *= 10.0 ** (-snr_db / 20.0) / float(np.sqrt(np.mean(noise**2)))
    mix = speech + noise
    peak = rng.uniform(0.3, 0.8)
    mix *= peak / float(np.max(np.abs(mix)))
    return mix.astype(np.float32)
