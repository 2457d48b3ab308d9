"""The event chain in SQL: the SQLite hash function, and reading the chain back fast.

The database chains every insert into ``events`` itself (the triggers of migration 0016), so
every writer, :class:`~keepdown.storage.event_store.SqlEventStore` and the notice stores that
write events in their own transactions alike, is chained without knowing it:

- **SQLite** runs one writer at a time (``BEGIN IMMEDIATE``, engine.py) and gives a new row the
  id after the highest, so ids already come in one order. An ``AFTER INSERT`` trigger sets the
  row's ``chain_hash`` from the row before it through ``keepdown_chain_link``
  (:mod:`keepdown.storage.chain_sql`), which engine.py installs on every keepdown connection
  (a connection without it, such as the ``sqlite3`` shell, cannot insert events: it is
  refused, not left unchained);
- **PostgreSQL** gives ids from a sequence, in no particular commit order, so its ``BEFORE
  INSERT`` trigger takes a lock on ``event_chain`` (held until the transaction ends), reads the
  last row, and sets the new row's id to the next position and its hash. Concurrent writers,
  threads or worker processes on other machines, queue on that lock: one order, no gap.

Write events last in a transaction (the stores do): on PostgreSQL the lock is held from the
first event until the commit.

:class:`SqlEventChain` reads the chain: its description (``event_chain``), its head, and its
rows in position order as the verifier wants them (the stored texts, never re-encoded), in
batches through a server-side cursor on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Engine, select, text

from keepdown.errors import StorageError
from keepdown.evidence.chain import (
    GENESIS,
    Anchor,
    ChainRow,
    WalkResult,
    leaf_hash,
    walk_encoded,
    walk_leaves,
)
from keepdown.evidence.encoding import event_bytes
from keepdown.evidence.log import ChainInfo
from keepdown.storage.engine import storage_errors
from keepdown.storage.parallel_walk import walk_in_parallel
from keepdown.storage.tables_events import event_chain, events

__all__ = ["SqlEventChain"]

_PG_AT = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_SQLITE_AT = "replace(at, ' ', 'T') || 'Z'"
#: The rows as ChainRow: position, kind, at and payload as the chain hashes them, hash.
_COLUMNS = {
    "postgresql": f"id, kind, {_PG_AT}, payload::text, chain_hash",
    "sqlite": f"id, kind, {_SQLITE_AT}, payload, chain_hash",
}
#: The fast walk's rows: PostgreSQL hashes each leaf itself; SQLite builds the encoded event.
_WALK_COLUMNS = {
    "postgresql": (
        "id, sha256('\\x00'::bytea || convert_to(id::text || E'\\n' || kind || E'\\n' || "
        f"{_PG_AT} || E'\\n' || payload::text, 'UTF8')), chain_hash"
    ),
    "sqlite": (
        f"id, CAST(id || char(10) || kind || char(10) || {_SQLITE_AT} || char(10) || payload "
        "AS BLOB), chain_hash"
    ),
}


class SqlEventChain:
    """Reads the chain of the ``events`` table (module docstring)."""

    def __init__(self, engine: Engine, *, batch: int = 20_000) -> None:
        self.engine = engine
        self.batch = batch
        self._columns = _COLUMNS.get(engine.dialect.name, _COLUMNS["sqlite"])

    def info(self) -> ChainInfo:
        with storage_errors("reading the event chain"), self.engine.connect() as conn:
            row = conn.execute(select(event_chain)).first()
        if row is None:
            raise StorageError("this database has no event chain (migration 0016 missing?)")
        return ChainInfo(
            int(row.version), bytes(row.genesis), row.started_at, row.live_from, row.backfilled
        )

    def head(self) -> Anchor:
        """The last chained event's position and hash (position 0 and GENESIS when empty)."""
        with storage_errors("reading the chain head"), self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT id, chain_hash FROM events ORDER BY id DESC LIMIT 1")
            ).first()
        if row is None:
            return Anchor(0, GENESIS)
        return Anchor(int(row[0]), bytes(row[1]) if row[1] is not None else b"")

    def hash_at(self, position: int) -> bytes | None:
        """The stored hash at ``position``; None if no event is there."""
        with storage_errors("reading the event chain"), self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT chain_hash FROM events WHERE id = :p"), {"p": position}
            ).first()
        return bytes(row[0]) if row is not None and row[0] is not None else None

    def hashes_at(self, positions: Sequence[int]) -> dict[int, bytes]:
        """The stored hashes at each of ``positions`` that holds an event."""
        found: dict[int, bytes] = {}
        wanted = sorted(set(positions))
        with storage_errors("reading the event chain"), self.engine.connect() as conn:
            for start in range(0, len(wanted), 1000):
                chunk = wanted[start : start + 1000]
                rows = conn.execute(
                    select(events.c.id, events.c.chain_hash).where(events.c.id.in_(chunk))
                )
                found.update({int(i): bytes(h) for i, h in rows if h is not None})
        return found

    def before(self, position: int) -> Anchor:
        """The anchor just before ``position``: the previous row's position and hash."""
        with storage_errors("reading the event chain"), self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT id, chain_hash FROM events WHERE id < :p ORDER BY id DESC LIMIT 1"),
                {"p": position},
            ).first()
        if row is None:
            return Anchor(0, GENESIS)
        return Anchor(int(row[0]), bytes(row[1]) if row[1] is not None else b"")

    def rows(self, after: int = 0, upto: int | None = None) -> Iterator[ChainRow]:
        """Stored events after position ``after`` (up to ``upto``), as the verifier reads them."""
        for batch in self._batches(_COLUMNS, after, upto):
            yield from batch

    def rows_of(self, kinds: Sequence[str], upto: int) -> Iterator[ChainRow]:
        """Stored events of ``kinds`` at positions up to ``upto``, as :meth:`rows` gives them."""
        for batch in self._batches(_COLUMNS, 0, upto, kinds=kinds):
            yield from batch

    def walk(
        self, anchor: Anchor, *, dense_from: int, upto: int | None = None, jobs: int = 1
    ) -> WalkResult:
        """:func:`keepdown.evidence.chain.walk` over the stored rows after ``anchor``, the fast
        way (module docstring); ``jobs`` > 1 splits the positions between processes."""
        if jobs > 1:
            return walk_in_parallel(self, anchor, dense_from=dense_from, upto=upto, jobs=jobs)
        rows = chain.from_iterable(self._batches(_WALK_COLUMNS, anchor.position, upto))
        if self.engine.dialect.name == "postgresql":
            return walk_leaves(rows, anchor, dense_from=dense_from)
        return walk_encoded(rows, anchor, dense_from=dense_from)

    def _batches(
        self,
        columns: dict[str, str],
        after: int,
        upto: int | None,
        *,
        kinds: Sequence[str] = (),
    ) -> Iterator[list[Any]]:
        """Rows straight from the driver's cursor (a server-side one on PostgreSQL), a batch at
        a time: a walk over ten million rows never holds more than one batch."""
        postgres = self.engine.dialect.name == "postgresql"
        mark = "%s" if postgres else "?"
        bound = "" if upto is None else f" AND id <= {mark}"
        of_kinds = f" AND kind IN ({', '.join([mark] * len(kinds))})" if kinds else ""
        select_ = columns["postgresql" if postgres else "sqlite"]
        query = f"SELECT {select_} FROM events WHERE id > {mark}{bound}{of_kinds} ORDER BY id"
        params: tuple[int | str, ...] = (after,) if upto is None else (after, upto)
        params += tuple(kinds)
        with storage_errors("reading the event chain"), self.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            cursor = raw.cursor("keepdown_chain_walk") if postgres else raw.cursor()
            try:
                if postgres:
                    cursor.itersize = self.batch
                cursor.execute(query, params)
                while batch := cursor.fetchmany(self.batch):
                    yield batch
            finally:
                cursor.close()
                if postgres:
                    raw.rollback()

    def leaves(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        """(position, leaf hash) of the events from ``first`` to ``last``: what anyone holding
        a checkpoint needs to check that a later one extends it (chain.extend)."""
        for position, kind, at, payload, _ in self.rows(first - 1, last):
            yield position, leaf_hash(event_bytes(position, kind, at, payload))
