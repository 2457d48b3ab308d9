"""Pagination and filter parsing shared by the list pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Path, Query

from keepdown.errors import InvalidInput

__all__ = ["ROW_ID_MAX", "PageNumber", "Pager", "RowAfter", "RowId", "SmallRowId", "parse_day"]

PER_PAGE = 50

#: Largest row id a page address may name (ids are 64-bit integers in both databases): a
#: larger or more negative number is a clear 400, not an overflow in the driver (a 500).
ROW_ID_MAX = 2**62
#: A row id in a page's path (``/web/sightings/{sighting_id}``).
RowId = Annotated[int, Path(ge=-ROW_ID_MAX, le=ROW_ID_MAX)]
#: A row id of a table keyed by a 32-bit integer on PostgreSQL (the allow-list).
SmallRowId = Annotated[int, Path(ge=-(2**31), le=2**31 - 1)]
#: A keyset position in a query (``?after=``); below 0 reads as 0.
RowAfter = Annotated[int, Query(ge=-ROW_ID_MAX, le=ROW_ID_MAX)]
#: A page number in a query (``?page=``); below 1 reads as 1, past the last is an empty page.
PageNumber = Annotated[int, Query(ge=-ROW_ID_MAX, le=ROW_ID_MAX // 1000)]


@dataclass(frozen=True)
class Pager:
    """Page ``number`` (from 1) of ``total`` rows, with links that keep the filters."""

    number: int
    total: int
    per_page: int
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, number: int, params: dict[str, str], *, per_page: int = PER_PAGE) -> Pager:
        kept = tuple((k, v) for k, v in params.items() if v and k != "page")
        return cls(number=max(1, number), total=0, per_page=per_page, params=kept)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def link(self, number: int) -> str:
        return "?" + urlencode([*self.params, ("page", str(number))])

    def with_total(self, total: int) -> Pager:
        return Pager(self.number, total, self.per_page, self.params)


def parse_day(value: str, what: str, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` as the start of that day in UTC (``end``: the start of the next day)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-01-31", field=what) from None
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start
