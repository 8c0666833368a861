"""Times as the store gives them (epoch floats or ISO 8601 strings) to what people read."""

from __future__ import annotations

import datetime as dt
from typing import Any


def to_epoch(value: Any) -> float | None:
    """Seconds since the epoch from a float, an int or an ISO 8601 string; ``None`` if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def local_time(value: Any) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in local time, or an empty string."""
    epoch = to_epoch(value)
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """``0.42 s``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def span(start: Any, end: Any, now: float) -> float | None:
    """Seconds from ``start`` to ``end`` (or to ``now`` while unfinished)."""
    s = to_epoch(start)
    if s is None:
        return None
    e = to_epoch(end)
    return max(0.0, (e if e is not None else now) - s)
