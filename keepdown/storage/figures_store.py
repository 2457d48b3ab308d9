"""The events a transparency report is computed from, read straight from the ``events`` table.

A report of a period needs every lifecycle event *before the period end* (a location notified
long ago may be removed, or still present, in this period) and none of the crawler's bulk
events (pages fetched, media seen). :func:`report_events` reads only the kinds
:mod:`keepdown.reports` uses, up to ``until``, in recorded order, using the (kind, at) index.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from keepdown.events import Event, event_types
from keepdown.reports.cross_border import CROSS_BORDER_KINDS
from keepdown.reports.ledger import LEDGER_KINDS
from keepdown.reports.provenance import EventRange
from keepdown.reports.requests import REQUEST_KINDS
from keepdown.storage.engine import storage_errors
from keepdown.storage.event_store import _rebuild
from keepdown.storage.tables_events import events

__all__ = ["REPORT_KINDS", "report_events", "report_range"]

#: The event kinds keepdown.reports reads (its ledger and its removal-request figures say
#: which: one list each, kept there).
REPORT_KINDS = tuple(sorted({*LEDGER_KINDS, *REQUEST_KINDS, *CROSS_BORDER_KINDS}))


def _where(query: Any, until: datetime | None, upto: int | None) -> Any:
    query = query.where(events.c.kind.in_(REPORT_KINDS))
    if until is not None:
        query = query.where(events.c.at < until)
    if upto is not None:  # a report pins the chain head it read to (reproducible)
        query = query.where(events.c.id <= upto)
    return query


def report_events(
    engine: Engine,
    *,
    until: datetime | None = None,
    upto: int | None = None,
    batch: int = 5000,
) -> Iterator[Event]:
    """Typed events of :data:`REPORT_KINDS` recorded before ``until`` (all when None), at
    chain positions up to ``upto`` (all when None)."""
    types = event_types()
    query = _where(
        select(events.c.kind, events.c.payload).order_by(events.c.id), until, upto
    ).execution_options(yield_per=batch)
    with storage_errors("reading events for a report"), engine.connect() as conn:
        for kind, payload in conn.execute(query):
            cls = types.get(kind)
            if cls is not None:
                yield _rebuild(cls, payload)


def report_range(
    engine: Engine, *, until: datetime | None = None, upto: int | None = None
) -> EventRange:
    """The positions and count of the events :func:`report_events` reads with these bounds."""
    query = _where(select(func.min(events.c.id), func.max(events.c.id), func.count()), until, upto)
    with storage_errors("reading the events of a report"), engine.connect() as conn:
        first, last, count = conn.execute(query).one()
    return EventRange(
        int(first) if first is not None else None,
        int(last) if last is not None else None,
        int(count),
    )
