"""The limits of one server: upload size, audio duration, concurrent work, timeouts."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cmp_edge.errors import CmpEdgeError

__all__ = ["Limits"]


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Limits:
    """What one server accepts; every value is checked by :meth:`check`.

    Attributes:
        max_upload_bytes: largest request body or streamed audio, in bytes
            (default 32 MiB: about 17 minutes of 16 kHz int16, far more of Opus).
        max_duration_s: longest audio, in seconds, after decoding (default 120).
        workers: reconstructions computed at once (threads; default the number
            of cores, at most 4).
        queue: requests waiting for a worker beyond ``workers``; more are
            answered 503 with ``Retry-After`` (default 16).
        max_streams: WebSocket streams open at once (default 16).
        upload_timeout_s: the whole request body must arrive within this many
            seconds, else 408 (default 30).
        work_timeout_s: a request waiting plus computing longer than this is
            answered 503 (default 60).
        idle_timeout_s: a WebSocket stream silent for this long is closed (default 30).
        max_float_peak: f32le samples on the WebSocket beyond this magnitude mean
            the bytes are not float audio (e.g. int16 sent as float32 gives values
            up to 1e38); such a stream is refused (default 8.0, i.e. 18 dB over
            full scale). Uploaded files are checked by the audio stage
            (:data:`cmp_edge.audio.reader.GARBAGE_PEAK`).
    """

    max_upload_bytes: int = 32 * 1024 * 1024
    max_duration_s: float = 120.0
    workers: int = _default_workers()
    queue: int = 16
    max_streams: int = 16
    upload_timeout_s: float = 30.0
    work_timeout_s: float = 60.0
    idle_timeout_s: float = 30.0
    max_float_peak: float = 8.0

    def check(self) -> Limits:
        """Return self when every limit is positive (``queue`` may be 0).

        Raises:
            CmpEdgeError: a limit that is zero, negative or not a number.
        """
        for name, value in vars(self).items():
            low_ok = name == "queue" and value == 0
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise CmpEdgeError(f"limit {name}={value!r} is not a number; pass a number")
            if not (value > 0 or low_ok) or value != value:
                raise CmpEdgeError(f"limit {name}={value!r} must be positive; pass a larger value")
        return self
