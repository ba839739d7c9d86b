"""Numbers as people read them: the one duration formatter and the one plural of the CLI, the UI and job
messages (`static/js/format.js` mirrors both)."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """`None` → "—"; 42 → "42 s"; 185 → "3 min 05 s"; 7440 → "2 h 04 min"."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def plural(count: int, noun: str) -> str:
    """`1 file`, `2 files`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
