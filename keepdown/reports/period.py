"""Report periods: a year, a half, a quarter, a month or a date range, as a half-open interval.

Every figure in a report is about one :class:`Period` ``[start, end)`` in UTC. Accepted
spellings (:func:`parse_period`):

- ``2026`` (the year), ``2026-H2`` (a half), ``2026-Q3`` (a quarter), ``2026-09`` (a month),
  ``2026-W27`` (an ISO week, Monday to Sunday), ``2026-07-01`` (one day);
- ``2026-07-01..2026-09-30`` or ``2026-07-01/2026-09-30``: a date range, both days included.

:func:`to_date` is everything up to an instant (``keepdown notices figures`` without a
period: the operator's running figures, computed by the same rules as a published report).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from keepdown.errors import InvalidInput

__all__ = ["EPOCH", "Period", "month_periods", "parse_period", "to_date"]

#: The start of "everything": before any event keepdown can have recorded.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_YEAR = re.compile(r"^(\d{4})$")
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/)\s*(\d{4}-\d{2}-\d{2})$")


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC, with the label it was asked for."""

    label: str
    start: datetime
    end: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def last_day(self) -> date:
        """The last day included (``end`` is the midnight after it)."""
        return (self.end - timedelta(days=1)).date()

    def to_dict(self) -> dict[str, str]:
        return {
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "last_day": self.last_day.isoformat(),
        }


def parse_period(text: str) -> Period:
    """The :class:`Period` ``text`` names (module docstring), or a clear InvalidInput."""
    raw = text.strip()
    try:
        period = _parse(raw)
    except ValueError as exc:  # a month 13, a 30 February...
        raise InvalidInput(f"not a valid period: {raw!r} ({exc})", period=raw) from exc
    if period is None:
        raise InvalidInput(
            f"not a period: {raw!r}; use 2026, 2026-H2, 2026-Q3, 2026-09, 2026-W27, "
            "2026-07-01 or 2026-07-01..2026-09-30",
            period=raw,
        )
    if period.end <= period.start:
        raise InvalidInput(f"the period {raw!r} ends before it starts", period=raw)
    return period


def _parse(raw: str) -> Period | None:
    if m := _YEAR.match(raw):
        year = int(m[1])
        return Period(raw, _month_start(year, 1), _month_start(year + 1, 1))
    if m := _HALF.match(raw):
        year, half = int(m[1]), int(m[2])
        first = 1 + 6 * (half - 1)
        return Period(raw.upper(), _month_start(year, first), _month_start(year, first + 6))
    if m := _QUARTER.match(raw):
        year, quarter = int(m[1]), int(m[2])
        first = 1 + 3 * (quarter - 1)
        return Period(raw.upper(), _month_start(year, first), _month_start(year, first + 3))
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"month {month}")
        return Period(raw, _month_start(year, month), _month_start(year, month + 1))
    if m := _WEEK.match(raw):
        monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return Period(raw.upper(), _at(monday), _at(monday) + timedelta(days=7))
    if m := _DAY.match(raw):
        day = date.fromisoformat(m[1])
        return Period(str(day), _at(day), _at(day) + timedelta(days=1))
    if m := _RANGE.match(raw):
        since, until = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        return Period(f"{since}..{until}", _at(since), _at(until) + timedelta(days=1))
    return None


def month_periods(end: datetime, count: int) -> list[Period]:
    """The ``count`` calendar months up to the one holding the instant before ``end``."""
    last = end - timedelta(microseconds=1)
    months = []
    for back in range(count - 1, -1, -1):
        start = _month_start(last.year, last.month - back)
        nxt = _month_start(start.year, start.month + 1)
        months.append(Period(f"{start.year:04d}-{start.month:02d}", start, nxt))
    return months


def to_date(now: datetime) -> Period:
    """Everything recorded up to and including ``now`` (module docstring)."""
    label = f"to {now.astimezone(UTC).isoformat(timespec='minutes')}"
    return Period(label, EPOCH, now + timedelta(microseconds=1))
