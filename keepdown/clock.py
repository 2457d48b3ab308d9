"""Time, behind one small interface.

Every deadline, duration and timestamp in keepdown reads time through a :class:`Clock`, so
tests can freeze it and drive months of re-checks in seconds (``FrozenClock.advance``).
All wall-clock times are timezone-aware UTC; durations that must not jump use ``monotonic``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FrozenClock", "SystemClock", "utc"]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A timezone-aware UTC datetime; a short way to write fixed times in tests and docs."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@runtime_checkable
class Clock(Protocol):
    """Where keepdown gets the time."""

    def now(self) -> datetime:
        """Current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FrozenClock:
    """A clock that moves only when told to: the in-memory twin used by tests."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or utc(2026, 1, 1)
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by ``delta`` (a timedelta or seconds) and return the new now."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (must not be earlier than now)."""
        self.advance(when - self._now)
