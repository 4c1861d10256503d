"""The input-quality columns of the batch summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.face import Face

QUALITY_COLUMNS = (
    "sample_rate",
    "channels",
    "channel_used",
    "peak_dbfs",
    "rms_dbfs",
    "dc_offset",
    "clipped_fraction",
    "bandwidth_hz",
    "channel_correlation",
    "voiced_fraction",
)
"""Fields of :class:`~cmp_edge.audio.quality.InputQuality` written per file."""


def quality_row(face: Face) -> dict[str, Any]:
    """The quality columns and a ``warnings`` column (issues joined by "; ") for one face."""
    q = face.quality
    if q is None:
        return {}
    data = q.to_dict()
    row: dict[str, Any] = {k: data.get(k) for k in QUALITY_COLUMNS}
    notes = list(q.issues())
    if q.channel_used != "mix":
        notes.insert(0, f"channel {q.channel_used} used (mix cancels)")
    if q.conditioning:
        notes.append(
            "conditioned: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(q.conditioning.items()))
        )
    row["warnings"] = "; ".join(notes)
    return row
