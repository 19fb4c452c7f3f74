"""Durations as the reference writes them: `HH:MM:SS`, hours unbounded ("240:15:30")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_HMS = re.compile(r"^(\d{1,6}):([0-5]\d):([0-5]\d)$")


def format_duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    total = max(int(seconds), 0)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def run_seconds(started_at: datetime | None, finished_at: datetime | None) -> float | None:
    """How long a run took (or has taken so far, while it runs), in seconds."""
    if started_at is None:
        return None
    end = finished_at or datetime.now(UTC)
    return round(max((end - started_at).total_seconds(), 0.0), 3)


def parse_duration(text: str) -> int:
    """`HH:MM:SS` to seconds; ValueError with the reason otherwise."""
    match = _HMS.match(text or "")
    if not match:
        raise ValueError("must be a duration HH:MM:SS (minutes and seconds 00-59)")
    hours, minutes, seconds = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds
