"""Bulk import of bank entries: all or nothing, idempotent, fast.

Steps:

1. Record the import in ``imports`` with status ``running`` and commit, so others can see it
   is under way (and, if the process dies, that it never finished).
2. In ONE transaction, stream the records in batches of :data:`BATCH_SIZE`:
   ``INSERT ... ON CONFLICT (bank_id, signal_type, value_key) DO NOTHING`` tells which
   rows are new; the rest already exist and are looked up to tell "already present" from
   "removed earlier" (a tombstone, kept removed unless ``restore``). A tombstone record in the
   file removes an active entry (a peer's removal reaches us).
3. Bad lines (``LineError``) are counted; unless ``skip_invalid``, the first one stops all
   further writes, the rest of the file is still read to report every bad line, and the
   transaction is rolled back: :class:`ImportFormatError` lists them by line number.
4. Write the counts and status ``done`` to the ``imports`` row and commit. A process killed
   before this point leaves no entry behind: the database rolls the transaction back (SQLite's
   WAL and PostgreSQL's log both guarantee it), and the import row stays ``running`` until
   :func:`fail_interrupted` marks it ``failed`` (keepdown runs it when it starts).

Telling a killed import from one under way: step 2's transaction first updates its own
``imports`` row (still ``running``, else it stops: it was marked interrupted). On PostgreSQL
that holds the row's lock until the transaction ends, and :func:`fail_interrupted` skips
locked rows (``FOR UPDATE SKIP LOCKED``); on SQLite the import holds the database's write
lock for the whole transaction, so :func:`fail_interrupted`'s own write transaction runs only
when no import is inside one. Only rows older than a grace period are considered, which
covers the moment between steps 1 and 2 (an import waiting for SQLite's write lock waits at
most the busy timeout).

The ``imports`` rows are also the journal the match index follows (``index_feed``): their
counters land in the same transaction as the entries, so the two never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from keepdown.banks.model import Bank, ImportFile, ImportResult, RemovalReason
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import Conflict, ImportFormatError
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_banks import bank_entries, entry_key, imports

__all__ = ["BATCH_SIZE", "MAX_REPORTED", "fail_interrupted", "import_entries"]

#: Rows per INSERT batch: large enough to amortise round trips, small enough for SQLite's
#: 32,766 bound-parameter limit per multi-row statement page and for modest memory.
BATCH_SIZE = 10_000
#: Most line errors / notes kept in the result (every one is still counted).
MAX_REPORTED = 1000


@dataclass
class _Tally:
    """Running counts and messages for one import."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.counts["invalid"] += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(message)

    def note(self, message: str) -> None:
        if len(self.notes) < MAX_REPORTED:
            self.notes.append(message)


def import_entries(
    engine: Engine,
    bank: Bank,
    items: Iterable[EntryRecord | LineError],
    source: ImportFile,
    now: datetime,
    *,
    skip_invalid: bool = False,
    restore: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import ``items`` into ``bank`` atomically (see the module docstring for the steps)."""
    import_id = _start(engine, bank, source, now)
    tally = _Tally()
    try:
        with storage_errors("importing entries"), engine.begin() as conn:
            _claim(conn, import_id)
            _load(conn, bank, items, now, tally, skip_invalid, restore, progress)
            if tally.errors and not skip_invalid:
                raise _RefusedError
            conn.execute(
                update(imports).where(imports.c.id == import_id),
                {"status": "done", "finished_at": now, **_counts(tally)},
            )
    except BaseException as exc:
        _mark_failed(engine, import_id, now, tally)
        if isinstance(exc, _RefusedError):
            raise ImportFormatError(
                f"{tally.counts['invalid']} invalid line(s) in {source.name}; nothing was "
                "imported (fix them, or pass --skip-invalid to import the valid lines)",
                errors=tally.errors,
                invalid=tally.counts["invalid"],
            ) from None
        raise
    return ImportResult(
        import_id=import_id,
        errors=tuple(tally.errors),
        notes=tuple(tally.notes),
        **_counts(tally),
    )


def _start(engine: Engine, bank: Bank, source: ImportFile, now: datetime) -> int:
    """Step 1: the ``running`` journal row, committed on its own."""
    with storage_errors("starting an import"), engine.begin() as conn:
        return int(
            conn.execute(
                insert(imports).returning(imports.c.id),
                {
                    "bank_id": bank.id,
                    "file_name": source.name[:500],
                    "sha256": source.sha256,
                    "started_at": now,
                    "status": "running",
                },
            ).scalar_one()
        )


def _claim(conn: Connection, import_id: int) -> None:
    """Lock the import's row for this transaction (module docstring); Conflict if it was
    marked interrupted meanwhile."""
    claimed = conn.execute(
        update(imports)
        .where(imports.c.id == import_id, imports.c.status == "running")
        .values(status="running")
    )
    if claimed.rowcount != 1:
        raise Conflict(f"import {import_id} was marked interrupted before it began; run it again")


def fail_interrupted(engine: Engine, started_before: datetime, now: datetime) -> list[int]:
    """Mark the killed imports ``failed`` (module docstring); their ids."""
    stale = (
        select(imports.c.id)
        .where(imports.c.status == "running", imports.c.started_at < started_before)
        .with_for_update(skip_locked=True)
    )
    with storage_errors("marking interrupted imports"), engine.begin() as conn:
        ids = [int(i) for i in conn.execute(stale).scalars()]
        if ids:
            conn.execute(
                update(imports).where(imports.c.id.in_(ids)),
                {"status": "failed", "finished_at": now},
            )
    return ids


class _RefusedError(Exception):
    """Internal signal: invalid lines and no --skip-invalid, so roll back."""


def _counts(tally: _Tally) -> dict[str, int]:
    names = ("lines", "added", "already_present", "invalid", "restored", "kept_removed", "removed")
    return {name: tally.counts[name] for name in names}


def _mark_failed(engine: Engine, import_id: int, now: datetime, tally: _Tally) -> None:
    # Best effort: the entries are already rolled back; this only labels the attempt.
    try:
        with engine.begin() as conn:
            conn.execute(
                update(imports).where(imports.c.id == import_id),
                {
                    "status": "failed",
                    "finished_at": now,
                    "lines": tally.counts["lines"],
                    "invalid": tally.counts["invalid"],
                },
            )
    except Exception:
        pass


def _load(
    conn: Connection,
    bank: Bank,
    items: Iterable[EntryRecord | LineError],
    now: datetime,
    tally: _Tally,
    skip_invalid: bool,
    restore: bool,
    progress: Callable[[int], None] | None,
) -> None:
    inserter = _Inserter(conn, bank, now)
    batch: list[EntryRecord] = []
    for item in items:
        tally.counts["lines"] += 1
        if isinstance(item, LineError):
            tally.error(str(item))
            continue
        if tally.errors and not skip_invalid:
            continue  # refused already: read on only to report every bad line
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            _write_batch(conn, inserter, batch, tally, restore)
            batch = []
            if progress is not None:
                progress(tally.counts["lines"])
    if batch and not (tally.errors and not skip_invalid):
        _write_batch(conn, inserter, batch, tally, restore)
    if progress is not None:
        progress(tally.counts["lines"])


def _reason(record: EntryRecord) -> str:
    try:
        return str(RemovalReason(record.removal_reason or RemovalReason.SOURCE_WITHDREW))
    except ValueError:
        return str(RemovalReason.OTHER)


#: Columns written by the bulk insert, in the order of each row tuple.
_COLUMNS = (
    "bank_id",
    "signal_type",
    "value",
    "value_key",
    "source_label",
    "category",
    "maturity",
    "source_id",
    "notes",
    "added_at",
    "removed_at",
    "removal_reason",
)


class _Inserter:
    """Writes new rows with the driver's own ``executemany``.

    SQLAlchemy's per-row parameter processing cost more than the database's work at a
    million rows, so rows are plain tuples here and the only per-row conversion (datetimes,
    through the column type's own bind processor so the stored form is exactly what the rest
    of the store reads) is memoised: most rows of an import share one ``added_at``.
    """

    def __init__(self, conn: Connection, bank: Bank, now: datetime) -> None:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO bank_entries ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_COLUMNS))}) "
            "ON CONFLICT (bank_id, signal_type, value_key) DO NOTHING"
        )
        processor = bank_entries.c.added_at.type.dialect_impl(conn.dialect).bind_processor(
            conn.dialect
        )
        self._to_db = processor or (lambda value: value)
        self._memo: dict[datetime, Any] = {}
        self.bank = bank
        self.now = now

    def _time(self, moment: datetime) -> Any:
        if moment not in self._memo:
            self._memo[moment] = self._to_db(moment)
        return self._memo[moment]

    def _row(self, record: EntryRecord) -> tuple[Any, ...]:
        classification = record.classification or self.bank.classification
        return (
            self.bank.id,
            str(record.signal_type),
            record.value,
            entry_key(record.value),
            record.source_label or self.bank.default_label,
            str(classification.category) if classification else None,
            str(classification.maturity) if classification else None,
            record.source_id,
            record.notes,
            self._time(record.added_at or self.now),
            self._time(self.now) if record.removed else None,
            _reason(record) if record.removed else None,
        )

    def insert(self, conn: Connection, records: Iterable[EntryRecord]) -> int:
        """Insert the rows; returns how many were new (rows the database actually added)."""
        rows = [self._row(record) for record in records]
        if conn.dialect.name == "postgresql":
            # One statement per batch, each column as one array: far fewer protocol messages
            # than executemany's one INSERT per row.
            raw = conn.connection.driver_connection
            columns = [list(column) for column in zip(*rows, strict=True)]
            cursor = raw.execute(_PG_INSERT, columns)  # type: ignore[union-attr]
            added: int = cursor.rowcount
            return max(added, 0)
        result = conn.exec_driver_sql(self.sql, rows)  # sqlite3 sums executemany's row counts
        return max(result.rowcount, 0)


_PG_TYPES = (
    "int[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "timestamptz[]",
    "timestamptz[]",
    "text[]",
)
_PG_INSERT = (
    f"INSERT INTO bank_entries ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{kind}" for kind in _PG_TYPES)
    + ") ON CONFLICT (bank_id, signal_type, value_key) DO NOTHING"
)


def _write_batch(
    conn: Connection,
    inserter: _Inserter,
    batch: list[EntryRecord],
    tally: _Tally,
    restore: bool,
) -> None:
    """Insert the batch's new hashes; sort the rest into present / removed / restored."""
    existing = _existing(conn, inserter.bank.id, batch)
    fresh: dict[tuple[str, str], EntryRecord] = {}
    conflicts: list[EntryRecord] = []
    for record in batch:
        key = (str(record.signal_type), record.value)
        if key in existing:
            conflicts.append(record)
        elif key in fresh:
            tally.counts["already_present"] += 1  # the same hash twice in one batch
        else:
            fresh[key] = record
    if fresh:
        inserted = inserter.insert(conn, fresh.values())
        removed = sum(1 for record in fresh.values() if record.removed)
        tally.counts["removed"] += removed
        tally.counts["added"] += inserted - removed
        # Fewer rows than expected: a concurrent import added some of them first.
        tally.counts["already_present"] += len(fresh) - inserted
    if conflicts:
        _resolve_conflicts(conn, existing, conflicts, inserter.now, tally, restore)


def _resolve_conflicts(
    conn: Connection,
    existing: dict[tuple[str, str], tuple[int, datetime | None, str | None]],
    conflicts: list[EntryRecord],
    now: datetime,
    tally: _Tally,
    restore: bool,
) -> None:
    """Sort records whose hash the bank already has: present, tombstoned, or to be removed."""
    to_remove: list[dict[str, Any]] = []
    to_restore: list[dict[str, Any]] = []
    for record in conflicts:
        entry_id, removed_at, reason = existing[(str(record.signal_type), record.value)]
        if (removed_at is not None) == record.removed:
            tally.counts["already_present"] += 1
        elif record.removed:
            to_remove.append({"eid": entry_id, "when": now, "why": _reason(record)})
            existing[(str(record.signal_type), record.value)] = (entry_id, now, _reason(record))
        elif restore:
            to_restore.append({"eid": entry_id, "when": None, "why": None})
            existing[(str(record.signal_type), record.value)] = (entry_id, None, None)
        else:
            tally.counts["kept_removed"] += 1
            tally.note(
                f"{record.signal_type} {record.value}: removed on {removed_at:%Y-%m-%d} "
                f"({reason}); kept removed (use --restore to bring it back)"
            )
    for params, counter in ((to_remove, "removed"), (to_restore, "restored")):
        if params:
            conn.execute(
                update(bank_entries)
                .where(bank_entries.c.id == bindparam("eid"))
                .values(removed_at=bindparam("when"), removal_reason=bindparam("why")),
                params,
            )
            tally.counts[counter] += len(params)


def _existing(
    conn: Connection, bank_id: int, records: list[EntryRecord]
) -> dict[tuple[str, str], tuple[int, datetime | None, str | None]]:
    """Current state of the given hashes in one bank, looked up one signal type at a time
    (so each query walks the unique index on (bank_id, signal_type, value_key)). Driver-level SQL
    for the same reason as :class:`_Inserter`: 10,000 bound values per query."""
    by_type: dict[str, set[str]] = {}
    for record in records:
        by_type.setdefault(str(record.signal_type), set()).add(record.value)
    to_time = bank_entries.c.removed_at.type.dialect_impl(conn.dialect).result_processor(
        conn.dialect, None
    ) or (lambda value: value)
    found: dict[tuple[str, str], tuple[int, datetime | None, str | None]] = {}
    for signal_type, values in by_type.items():
        for entry_id, value, removed_at, reason in _lookup(conn, bank_id, signal_type, values):
            when = None if removed_at is None else to_time(removed_at)
            found[(signal_type, value)] = (entry_id, when, reason)
    return found


_LOOKUP = "SELECT id, value, removed_at, removal_reason FROM bank_entries WHERE bank_id = "


def _lookup(conn: Connection, bank_id: int, signal_type: str, values: set[str]) -> list[Any]:
    """(id, value, removed_at, removal_reason) of the bank's entries with these values, found
    by their keys (:func:`~keepdown.storage.tables_banks.entry_key`)."""
    keys = [entry_key(value) for value in values]
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        # One unique-index probe per value: a LATERAL subquery with LIMIT cannot be flattened
        # into a join, so the plan does not depend on statistics, which are stale mid-import
        # (the table grows inside this very transaction; a planner-chosen join scanned the
        # whole bank for every batch).
        found: list[Any] = raw.execute(  # type: ignore[union-attr]
            "SELECT e.id, e.value, e.removed_at, e.removal_reason "
            "FROM unnest(%s::text[]) AS v(k) CROSS JOIN LATERAL ("
            "SELECT id, value, removed_at, removal_reason FROM bank_entries "
            "WHERE bank_id = %s AND signal_type = %s AND value_key = v.k LIMIT 1) AS e",
            (keys, bank_id, signal_type),
            prepare=False,
        ).fetchall()
        return found
    marks = ", ".join("?" * len(keys))
    return list(
        conn.exec_driver_sql(
            _LOOKUP + f"? AND signal_type = ? AND value_key IN ({marks})",
            (bank_id, signal_type, *keys),
        ).all()
    )
