"""Clocks: the real one, and a settable one for `kampung simulate` and tests."""
from __future__ import annotations

from datetime import datetime, timezone


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that only moves when told to; it never goes backwards."""

    def __init__(self, start: datetime):
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("clock time needs a UTC offset, e.g. 2026-11-22T10:00:00+07:00")
        when = when.astimezone(timezone.utc)
        if when < self._now:
            raise ValueError(f"the clock cannot go back from {self._now.isoformat()}")
        self._now = when
