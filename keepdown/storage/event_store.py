"""A durable :class:`keepdown.events.EventSink`: events as rows of the ``events`` table.

Each event is stored as its ``kind``, its time ``at`` and its whole ``to_dict()`` as a JSON
payload in canonical form (:func:`keepdown.evidence.encoding.event_payload`), so later issues
(reports, transparency figures, audit) can recompute every number from the table, and
:meth:`SqlEventStore.read` rebuilds the typed events. The database chains each row to the one
before it as it is inserted (:mod:`keepdown.storage.event_chain`).

:func:`insert_events` is the one way events are written, by this store (a transaction per
event) and by the notice stores (in their own transactions). It is the hottest write keepdown
has (a crawl writes an event per page and per media), so it goes to the driver with a fixed
statement and the values already in the column's stored form (the time as UTC text on
SQLite, what :class:`~keepdown.storage.schema.UtcDateTime` would write), skipping the
expression layer's per-statement work.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from keepdown.events import Event, EventLog, event_types
from keepdown.evidence.encoding import event_payload
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_events import events

__all__ = ["SqlEventStore", "insert_events"]

_INSERT = {
    "sqlite": "INSERT INTO events (kind, at, payload) VALUES (?, ?, ?)",
    "postgresql": "INSERT INTO events (kind, at, payload) VALUES (%s, %s, %s::json)",
}


def _sqlite_at(at: datetime) -> str:
    """``at`` as SQLite stores a UtcDateTime: naive UTC, microseconds always written."""
    t = at.astimezone(UTC)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"
    )


def insert_events(conn: Connection, batch: Sequence[Event]) -> None:
    """Append events in the caller's transaction (the chain columns are the database's to
    fill). Write them last in a transaction: on PostgreSQL the event chain's lock is held
    from here to the commit."""
    sqlite = conn.dialect.name == "sqlite"
    rows = [
        (e.kind, _sqlite_at(e.at) if sqlite else e.at.astimezone(UTC), event_payload(e))
        for e in batch
    ]
    statement = _INSERT["sqlite" if sqlite else "postgresql"]
    if len(rows) == 1:
        conn.exec_driver_sql(statement, rows[0])
    elif rows:
        conn.exec_driver_sql(statement, rows)


class SqlEventStore:
    """Appends events to the database and reads them back as typed events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def emit(self, event: Event) -> None:
        with storage_errors("recording an event"), self.engine.begin() as conn:
            insert_events(conn, (event,))

    def read(
        self,
        kind: str | None = None,
        *,
        since: datetime | None = None,
        kinds: Sequence[str] | None = None,
        until: datetime | None = None,
    ) -> Iterator[Event]:
        """Stored events in the order they were recorded, optionally of one kind (or of
        ``kinds``), from ``since`` and before ``until``."""
        query = select(events.c.kind, events.c.payload).order_by(events.c.id)
        if kind is not None:
            query = query.where(events.c.kind == kind)
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(events.c.at >= since)
        if until is not None:
            query = query.where(events.c.at < until)
        types = event_types()
        with storage_errors("reading events"), self.engine.connect() as conn:
            for row_kind, payload in conn.execute(query):
                cls = types.get(row_kind)
                if cls is not None:  # kinds from a newer keepdown are skipped, not fatal
                    yield _rebuild(cls, payload)

    def count(self, kind: str | None = None) -> int:
        query = select(func.count()).select_from(events)
        if kind is not None:
            query = query.where(events.c.kind == kind)
        with storage_errors("counting events"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def to_log(self) -> EventLog:
        """All stored events in an in-memory :class:`EventLog` (for tests and small reports)."""
        log = EventLog()
        for event in self.read():
            log.emit(event)
        return log


def _rebuild(cls: type[Event], payload: dict[str, Any]) -> Event:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, value in payload.items():
        if name == "kind" or name not in hints:
            continue
        if isinstance(value, str) and "datetime" in str(hints[name]):
            value = datetime.fromisoformat(value)
        elif isinstance(value, list) and "tuple" in str(hints[name]):
            value = tuple(value)
        values[name] = value
    return cls(**values)
