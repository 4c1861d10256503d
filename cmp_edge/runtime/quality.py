"""The one-line warning for recordings outside the model's training conditions."""

from __future__ import annotations

import warnings

from cmp_edge.audio.quality import InputQuality

__all__ = ["quality_warning", "warn_quality"]


def quality_warning(quality: InputQuality, what: str) -> str | None:
    """The warning text for a report, or None when the recording looks like training data."""
    done = quality.conditioning
    issues = [
        i
        for i in quality.issues()
        if not (i.startswith("DC offset") and done.get("dc_removed"))
        and not (i.startswith("very low level") and done.get("gain_db", 0.0) > 0.0)
    ]
    if not issues:
        return None
    hint = ""
    steps = []
    if quality.dc_offset and any(i.startswith("DC") for i in issues):
        steps.append("dc")
    if any(i.startswith("very low level") for i in issues):
        steps.append("level")
    if steps and not quality.conditioning:
        hint = f"; condition={','.join(steps)!r} may help"
    return (
        f"{what}: outside the model's training conditions: {'; '.join(issues)}; "
        f"the estimate may be off{hint} (see docs/audio.md)"
    )


def warn_quality(quality: InputQuality, what: str) -> None:
    """Emit :func:`quality_warning` as a ``UserWarning`` when there is one."""
    text = quality_warning(quality, what)
    if text:
        warnings.warn(text, UserWarning, stacklevel=3)
