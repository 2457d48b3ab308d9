"""The events a transparency report is computed from, read straight from the ``events`` table.

A report of a period needs every lifecycle event *before the period end* (a location notified
long ago may be removed, or still present, in this period) and none of the crawler's bulk
events (pages fetched, media seen). :func:`report_events` reads only the kinds
:mod:`keepdown.reports` uses, up to ``until``, in recorded order, using the (kind, at) index.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, select

from keepdown.events import Event, event_types
from keepdown.reports.ledger import LEDGER_KINDS
from keepdown.reports.requests import REQUEST_KINDS
from keepdown.storage.engine import storage_errors
from keepdown.storage.event_store import _rebuild
from keepdown.storage.schema import events

__all__ = ["REPORT_KINDS", "report_events"]

#: The event kinds keepdown.reports reads (its ledger and its removal-request figures say
#: which: one list each, kept there).
REPORT_KINDS = tuple(sorted({*LEDGER_KINDS, *REQUEST_KINDS}))


def report_events(
    engine: Engine, *, until: datetime | None = None, batch: int = 5000
) -> Iterator[Event]:
    """Typed events of :data:`REPORT_KINDS` recorded before ``until`` (all when None)."""
    types = event_types()
    query = (
        select(events.c.kind, events.c.payload)
        .where(events.c.kind.in_(REPORT_KINDS))
        .order_by(events.c.id)
        .execution_options(yield_per=batch)
    )
    if until is not None:
        query = query.where(events.c.at < until)
    with storage_errors("reading events for a report"), engine.connect() as conn:
        for kind, payload in conn.execute(query):
            cls = types.get(kind)
            if cls is not None:
                yield _rebuild(cls, payload)
