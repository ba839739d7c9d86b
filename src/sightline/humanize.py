"""Numbers as people read them: the one duration formatter, size formatter and plural of the CLI, the UI and
job messages (`static/js/format.js` mirrors them), and the one reader of the API's times."""

from __future__ import annotations

from datetime import datetime


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


def size(count: int | None) -> str:
    """`None` → "—"; 512 → "512 B"; 1073217536 → "1.0 GB" (1024-based, as format.js `bytes`)."""
    if count is None:
        return "—"
    value, units = float(count), ["B", "KB", "MB", "GB"]
    for unit in units[:-1]:
        if value < 1024:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} {units[-1]}"


def moment(value: str) -> datetime | None:
    """An ISO 8601 time as the API writes it ("Z" for UTC too); None when it is no time."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
