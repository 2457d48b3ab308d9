"""Listing sightings: one reading of the filters and one row shape for every view.

The web's sightings page, ``GET /api/v1/sightings`` and ``keepdown sightings list`` take the
same filters (bank, provider, state, seen since/until a day in UTC), checked here once by
:func:`sighting_filter`, and show the same columns (:data:`SIGHTING_COLUMNS`,
:func:`sighting_row`): where the media was, what it matched and what became of it. Never the
media itself.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from keepdown.errors import InvalidInput
from keepdown.review.model import ReviewItem, SightingFilter
from keepdown.spreadsheet import dict_writer

__all__ = [
    "SIGHTING_COLUMNS",
    "SIGHTING_STATES",
    "sighting_filter",
    "sighting_row",
    "sightings_csv",
]

#: What a sighting can be: waiting for a person, confirmed, rejected, or matched nothing.
SIGHTING_STATES = ("pending_review", "confirmed", "rejected", "unmatched")

#: The columns of a listed sighting, in order (JSON keys and CSV header alike).
SIGHTING_COLUMNS = (
    "id",
    "seen_at",
    "state",
    "bank",
    "signal_type",
    "match_type",
    "distance",
    "variant",
    "provider",
    "country",
    "media_url",
    "page_url",
    "final_url",
    "sha256",
    "content_type",
    "size",
)


def _day(value: str, what: str, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` as the start of that day in UTC (``end``: the start of the next)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-01-31", field=what) from None
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def sighting_filter(
    *, bank: str = "", provider: str = "", state: str = "", since: str = "", until: str = ""
) -> SightingFilter:
    """The filters as typed by a person; :class:`InvalidInput` naming the one that is wrong."""
    if state and state not in SIGHTING_STATES:
        raise InvalidInput(
            f"unknown state {state[:40]!r}: one of {', '.join(SIGHTING_STATES)}", field="state"
        )
    return SightingFilter(
        bank=bank[:200],
        provider=provider[:200],
        state=state,
        since=_day(since, "since"),
        until=_day(until, "until", end=True),
    )


def sighting_row(item: ReviewItem) -> dict[str, Any]:
    """One sighting as a row of :data:`SIGHTING_COLUMNS` (times in ISO 8601, UTC)."""
    return {
        "id": item.sighting_id,
        "seen_at": item.seen_at.astimezone(UTC).isoformat(),
        "state": item.state,
        "bank": item.bank or None,
        "signal_type": item.signal_type,
        "match_type": item.match_type,
        "distance": item.distance,
        "variant": item.variant,
        "provider": item.provider,
        "country": item.country or None,
        "media_url": item.media_url,
        "page_url": item.page_url,
        "final_url": item.final_url,
        "sha256": item.sha256,
        "content_type": item.content_type,
        "size": item.size,
    }


def sightings_csv(items: list[ReviewItem]) -> str:
    """Listed sightings as CSV (the header is :data:`SIGHTING_COLUMNS`; formula-safe cells)."""
    out = io.StringIO()
    writer = dict_writer(out, SIGHTING_COLUMNS)
    writer.writeheader()
    for item in items:
        writer.writerow(sighting_row(item))
    return out.getvalue()
