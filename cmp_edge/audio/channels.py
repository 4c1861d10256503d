"""Downmix policy: which channel(s) of a multi-channel recording become the mono signal.

The published pipeline averages the channels ("mix", the default). Averaging
fails when the channels cancel: stereo whose right channel is the left one
inverted (a miswired microphone, a phase-inverted track) sums to nothing and the
voice disappears. :class:`ChannelStats` measures each channel's energy and the
mix's; when the mix carries far less energy than the channels
(:data:`CANCELLATION_DB` or more below their mean), "auto" uses the loudest
channel instead, with a warning. A channel can also be chosen by index.

Channel choices (``channel=`` in the Python API, ``--channel`` on the command line):

- ``"auto"`` (default): the mix, unless it cancels; then the loudest channel.
- ``"mix"``: always the mix (the published downmix, even when it cancels).
- ``"best"``: the loudest channel.
- an integer ``k``: channel k (0 = first/left, 1 = second/right, ...).

Mono input has one channel whatever the choice (a batch of mono and stereo files
can share one ``--channel``).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from cmp_edge.errors import AudioError

__all__ = [
    "CANCELLATION_DB",
    "CHANNEL_CHOICES",
    "ChannelStats",
    "downmix",
    "parse_channel",
    "select",
]

CANCELLATION_DB: Final = 20.0
"""The mix is taken as cancelled when its energy is this many dB below the mean
energy of the channels (in-phase channels: 0 dB; independent ones: about 3 dB)."""
CHANNEL_CHOICES: Final = ("auto", "mix", "best")

Channel = str | int


def parse_channel(value: str | int) -> Channel:
    """Validate a channel choice: "auto", "mix", "best" or a non-negative index.

    Raises:
        AudioError: anything else (the message lists the choices).
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value >= 0:
            return int(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in CHANNEL_CHOICES:
            return text
        names = {"left": 0, "l": 0, "right": 1, "r": 1}
        if text in names:
            return names[text]
        if text.isdigit():
            return int(text)
    raise AudioError(
        f"channel {value!r} is not a channel choice; use auto, mix, best, left, right or an "
        "index 0, 1, ..."
    )


def downmix(frames: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The published downmix: the mean of the channels, (n, channels) -> (n,) float32."""
    if frames.shape[1] == 1:
        return np.ascontiguousarray(frames[:, 0])
    total = frames.sum(axis=1, dtype=np.float32)
    return np.ascontiguousarray(total * np.float32(1.0 / frames.shape[1]), dtype=np.float32)


def select(frames: npt.NDArray[np.float32], channel: str | int) -> npt.NDArray[np.float32]:
    """(n, channels) -> (n,) float32 with a resolved choice ("mix" or an index).

    Raises:
        AudioError: an index beyond the channels.
    """
    if channel == "mix" or frames.shape[1] == 1 and channel in (0, "best", "auto"):
        return downmix(frames)
    if not isinstance(channel, int):
        raise ValueError(f"resolve {channel!r} with ChannelStats.resolve first")
    if channel >= frames.shape[1]:
        raise AudioError(
            f"channel {channel} does not exist: the audio has {frames.shape[1]} channel(s) "
            f"(0..{frames.shape[1] - 1})"
        )
    return np.ascontiguousarray(frames[:, channel])


class ChannelStats:
    """Running energy of each channel, of their mean, and their correlation.

    Args:
        channels: number of channels (>= 1).
    """

    def __init__(self, channels: int) -> None:
        self.channels = int(channels)
        self.sumsq = np.zeros(self.channels, np.float64)
        self.sums = np.zeros(self.channels, np.float64)
        self.mix_sumsq = 0.0
        self.top = np.full(self.channels, -np.inf)
        self.bottom = np.full(self.channels, np.inf)
        self.cross = 0.0  # sum of channel 0 * channel 1
        self.count = 0

    def update(self, frames: npt.NDArray[np.float32], mix: npt.NDArray[np.float32]) -> None:
        """Add a (k, channels) block and its (k,) downmix."""
        if frames.shape[0] == 0:
            return
        f = frames.astype(np.float64)
        self.sumsq += np.einsum("ij,ij->j", f, f)
        self.sums += f.sum(axis=0)
        self.top = np.maximum(self.top, frames.max(axis=0))
        self.bottom = np.minimum(self.bottom, frames.min(axis=0))
        m = mix.astype(np.float64)
        self.mix_sumsq += float(np.einsum("i,i->", m, m))
        if self.channels >= 2:
            self.cross += float(np.einsum("i,i->", f[:, 0], f[:, 1]))
        self.count += frames.shape[0]

    @property
    def cancellation_db(self) -> float:
        """How far the mix's energy lies below the channels' mean energy, in dB (>= 0)."""
        mean_energy = float(self.sumsq.mean())
        if self.channels < 2 or mean_energy <= 0.0:
            return 0.0
        return float(10.0 * np.log10(mean_energy / max(self.mix_sumsq, mean_energy * 1e-12)))

    @property
    def cancelled(self) -> bool:
        """Whether averaging the channels cancels the signal (see :data:`CANCELLATION_DB`)."""
        return self.cancellation_db >= CANCELLATION_DB

    @property
    def correlation(self) -> float | None:
        """Pearson correlation of the first two channels (None for mono or silence)."""
        if self.channels < 2 or self.count == 0:
            return None
        n = self.count
        m0, m1 = self.sums[0] / n, self.sums[1] / n
        v0 = self.sumsq[0] / n - m0 * m0
        v1 = self.sumsq[1] / n - m1 * m1
        if v0 <= 0.0 or v1 <= 0.0:
            return None
        return float(np.clip((self.cross / n - m0 * m1) / np.sqrt(v0 * v1), -1.0, 1.0))

    @property
    def best(self) -> int:
        """Index of the loudest channel."""
        return int(np.argmax(self.sumsq))

    def resolve(self, choice: str | int) -> str | int:
        """Turn "auto"/"best" into "mix" or an index, given the energies seen."""
        if choice == "best":
            return self.best if self.channels > 1 else "mix"
        if choice == "auto":
            return self.best if self.cancelled else "mix"
        return choice
