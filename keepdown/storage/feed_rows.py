"""Bulk reads and writes of feed records, bank entries and their links, at the driver's speed.

A feed of a million entries must land in under a minute (``docs/performance.md``); with
SQLAlchemy's per-row parameter handling the statements cost more than the database's own
work (as for bulk imports, ``keepdown.storage.bulk_import``). So, for the hot statements of
:mod:`keepdown.storage.feed_pages`, rows go to the driver as plain tuples:

- SQLite: ``executemany``; new rows get their ids from this transaction (``max(id) + 1``...),
  which is safe because a write transaction holds SQLite's one write lock from its start
  (``BEGIN IMMEDIATE``), and keeps ids increasing as the match index expects;
- PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays) ... RETURNING id`` per batch, and
  lookups by ``= ANY(array)``.

Times go through the column type's own bind processor (memoised: a page's records share few
times), so what is stored is exactly what the rest of the store reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from keepdown.storage.tables_banks import bank_entries, entry_key
from keepdown.storage.tables_exchanges import feed_records

__all__ = ["FeedRows", "as_json", "classified"]

#: Values per ``IN (...)`` on SQLite (its bound-parameter limit is 32,766).
CHUNK = 5000

RECORD_COLUMNS = (
    "feed_id",
    "record_key",
    "member",
    "kind",
    "label",
    "category",
    "maturity",
    "status",
    "deleted",
    "fingerprints",
    "extra",
    "updated_at",
    "first_seen_at",
    "last_seen_at",
    "generation",
)
_RECORD_PG_TYPES = (
    "int", "text", "text", "text", "text", "text", "text", "text", "bool", "jsonb", "jsonb",
    "timestamptz", "timestamptz", "timestamptz", "int",
)  # fmt: skip
ENTRY_COLUMNS = (
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
_ENTRY_PG_TYPES = (
    "int", "text", "text", "text", "text", "text", "text", "text", "text", "timestamptz",
    "timestamptz", "text",
)  # fmt: skip


#: Largest stored JSON of a record's fingerprints or extra (a PhotoDNA value is ~200 bytes).
MAX_JSON = 16_000


_PLAIN = re.compile(r"[A-Za-z0-9_.:+/=-]{0,200}")


def as_json(value: dict[str, Any]) -> str:
    """``value`` as stored JSON, cut down to :data:`MAX_JSON` by shortening long strings.

    Most records' fingerprints and extras are a few plain names and hex or base64 values:
    those are written directly (json.dumps costs as much as the rest of a row)."""
    if not value:
        return "{}"
    parts = []
    for k, v in value.items():
        if type(k) is not str or not _PLAIN.fullmatch(k):
            break
        if type(v) is str and _PLAIN.fullmatch(v):
            parts.append(f'"{k}": "{v}"')
        elif type(v) is int:
            parts.append(f'"{k}": {v}')
        else:
            break
    else:
        return "{" + ", ".join(parts) + "}"
    text = json.dumps(value)
    if len(text) > MAX_JSON:
        short = {
            str(k)[:64]: (v[:200] if isinstance(v, str) else v) for k, v in list(value.items())[:50]
        }
        text = (
            json.dumps(short)[:MAX_JSON] if len(json.dumps(short)) > MAX_JSON else json.dumps(short)
        )
        if len(text) >= MAX_JSON:
            text = json.dumps({"truncated": True})
    return text


def classified(c: Any, _memo: dict[Any, tuple[str | None, str | None]] = {}) -> tuple[Any, Any]:  # noqa: B006
    """(category, maturity) values of a classification (memoised: a feed has a handful)."""
    if c is None:
        return None, None
    if c not in _memo:
        _memo[c] = (c.category.value, c.maturity.value)
    return _memo[c]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class FeedRows:
    """The bulk statements of one connection's transaction (module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        dialect = conn.dialect
        time_type = feed_records.c.updated_at.type.dialect_impl(dialect)
        self._to_db = time_type.bind_processor(dialect) or (lambda v: v)
        self._from_db = time_type.result_processor(dialect, None) or (lambda v: v)
        entry_time = bank_entries.c.removed_at.type.dialect_impl(dialect)
        self._entry_from_db = entry_time.result_processor(dialect, None) or (lambda v: v)
        self._memo: dict[datetime, Any] = {}

    def time(self, moment: datetime | None) -> Any:
        if moment is None:
            return None
        if moment not in self._memo:
            self._memo[moment] = self._to_db(moment)
        return self._memo[moment]

    def _raw(self) -> Any:
        return self.conn.connection.driver_connection

    def _select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        if self.pg:
            return list(self._raw().execute(sql, params, prepare=False).fetchall())
        return list(self.conn.exec_driver_sql(sql, tuple(params)).all())

    # --- records -------------------------------------------------------------------------------

    def find_records(self, feed_id: int, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """id, updated_at, deleted, label and category of the feed's records with these keys."""
        cols = "id, record_key, updated_at, deleted, label, category"
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(keys)):
            if self.pg:
                sql = f"SELECT {cols} FROM feed_records WHERE feed_id = %s AND record_key = ANY(%s)"
                rows = self._select(sql, (feed_id, list(chunk)))
            else:
                marks = ",".join("?" * len(chunk))
                sql = (
                    f"SELECT {cols} FROM feed_records WHERE feed_id = ? AND record_key IN ({marks})"
                )
                rows = self._select(sql, (feed_id, *chunk))
            for rid, key, updated, deleted, label, category in rows:
                found[key] = {
                    "id": rid,
                    "updated_at": self._from_db(updated),
                    "deleted": bool(deleted),
                    "label": label,
                    "category": category,
                }
        return found

    def insert_records(
        self, feed_id: int, records: Sequence[Any], now: datetime, generation: int
    ) -> dict[str, int]:
        """Insert new rows for ``records`` (``ExchangeRecord`` s); key -> new id."""
        stamp = now if self.pg else self.time(now)
        tuples = []
        for r in records:
            category, maturity = classified(r.classification)
            tuples.append(
                (
                    feed_id,
                    r.key,
                    r.member[:200] if r.member else None,
                    r.kind[:64] if r.kind else None,
                    r.label[:200] if r.label else None,
                    category,
                    maturity,
                    r.status[:64] if r.status else None,
                    r.deleted,
                    as_json(r.fingerprints),
                    as_json(r.extra),
                    r.updated_at if self.pg else self.time(r.updated_at),
                    stamp,
                    stamp,
                    generation,
                )
            )
        if self.pg:
            made = self._pg_insert(
                "feed_records", RECORD_COLUMNS, _RECORD_PG_TYPES, tuples, "record_key"
            )
            return {key: int(i) for i, key in made}
        first = self._next_id("feed_records")
        sql = (
            f"INSERT INTO feed_records (id, {', '.join(RECORD_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(RECORD_COLUMNS) + 1))})"
        )
        self.conn.exec_driver_sql(sql, [(first + i, *t) for i, t in enumerate(tuples)])
        return {t[1]: first + i for i, t in enumerate(tuples)}

    def _next_id(self, table: str) -> int:
        (top,) = self.conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").one()
        return int(top) + 1

    def _pg_insert(
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        tuples: Sequence[tuple[Any, ...]],
        returning: str,
        *,
        conflict: str = "",
    ) -> list[tuple[Any, ...]]:
        """One ``INSERT ... SELECT FROM unnest`` per batch; the ``RETURNING id, ...`` rows."""
        if not tuples:
            return []
        arrays = [list(column) for column in zip(*tuples, strict=True)]
        arg_types = [("text" if t == "jsonb" else t) + "[]" for t in types]
        names = [f"c{i}" for i in range(len(columns))]
        select = ", ".join(
            f"{n}::jsonb" if t == "jsonb" else n for n, t in zip(names, types, strict=True)
        )
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM unnest("
            + ", ".join(f"%s::{t}" for t in arg_types)
            + f") AS t({', '.join(names)}) {conflict} RETURNING id, {returning}"
        )
        return list(self._raw().execute(sql, arrays, prepare=False).fetchall())

    def update_records(self, names: Sequence[str], params: Sequence[dict[str, Any]]) -> None:
        """Set ``names`` on each record of ``params`` (dicts with ``id`` and those names)."""
        if not params:
            return
        mark = "%s" if self.pg else "?"
        sets = ", ".join(
            f"{n} = {mark}::jsonb"
            if self.pg and n in ("fingerprints", "extra")
            else f"{n} = {mark}"
            for n in names
        )
        sql = f"UPDATE feed_records SET {sets} WHERE id = {mark}"
        rows = [(*(self._value(n, p[n]) for n in names), p["id"]) for p in params]
        if self.pg:
            with self._raw().cursor() as cursor:
                cursor.executemany(sql, rows)
        else:
            self.conn.exec_driver_sql(sql, rows)

    def _value(self, name: str, value: Any) -> Any:
        if name in ("fingerprints", "extra"):
            return as_json(value)
        if isinstance(value, datetime) and not self.pg:
            return self.time(value)
        return value

    # --- entries -------------------------------------------------------------------------------

    def find_entries(
        self, bank_id: int, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, Any, str | None]]:
        """(id, removed_at, removal_reason) of the bank's entries with these hashes."""
        by_type: dict[str, list[str]] = {}
        for signal_type, value in pairs:
            by_type.setdefault(signal_type, []).append(value)
        out: dict[tuple[str, str], tuple[int, Any, str | None]] = {}
        cols = "id, value, removed_at, removal_reason"
        for signal_type, values in by_type.items():
            for chunk in _chunks(values):
                keys = [entry_key(v) for v in chunk]
                if self.pg:
                    sql = (
                        f"SELECT {cols} FROM bank_entries WHERE bank_id = %s AND signal_type = %s "
                        "AND value_key = ANY(%s)"
                    )
                    rows = self._select(sql, (bank_id, signal_type, keys))
                else:
                    marks = ",".join("?" * len(keys))
                    sql = (
                        f"SELECT {cols} FROM bank_entries WHERE bank_id = ? AND signal_type = ? "
                        f"AND value_key IN ({marks})"
                    )
                    rows = self._select(sql, (bank_id, signal_type, *keys))
                for eid, value, removed_at, reason in rows:
                    when = None if removed_at is None else self._entry_from_db(removed_at)
                    out[(signal_type, value)] = (int(eid), when, reason)
        return out

    def insert_entries(self, rows: Sequence[tuple[Any, ...]]) -> dict[tuple[str, str], int]:
        """Insert new entries (tuples in :data:`ENTRY_COLUMNS` order, times as datetimes);
        (type, value) -> new id."""
        if self.pg:
            conflict = "ON CONFLICT (bank_id, signal_type, value_key) DO NOTHING"
            made = self._pg_insert(
                "bank_entries", ENTRY_COLUMNS, _ENTRY_PG_TYPES, rows, "signal_type, value",
                conflict=conflict,
            )  # fmt: skip
            return {(signal_type, value): int(i) for i, signal_type, value in made}
        first = self._next_id("bank_entries")
        numbered = [
            (first + i, *t[:9], self.time(t[9]), self.time(t[10]), t[11])
            for i, t in enumerate(rows)
        ]
        sql = (
            f"INSERT INTO bank_entries (id, {', '.join(ENTRY_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(ENTRY_COLUMNS) + 1))})"
        )
        self.conn.exec_driver_sql(sql, numbered)
        return {(t[2], t[3]): t[0] for t in numbered}

    # --- links ---------------------------------------------------------------------------------

    def links(self, record_ids: Sequence[int], *, former: bool = False) -> dict[int, set[int]]:
        """Record id -> the entries it carries (and those it carried before, if ``former``)."""
        out: dict[int, set[int]] = {}
        which = "" if former else "live AND "
        for chunk in _chunks(list(record_ids)):
            if self.pg:
                rows = self._select(
                    "SELECT record_id, entry_id FROM feed_record_entries "
                    f"WHERE {which}record_id = ANY(%s)",
                    (list(chunk),),
                )
            else:
                marks = ",".join("?" * len(chunk))
                rows = self._select(
                    "SELECT record_id, entry_id FROM feed_record_entries "
                    f"WHERE {which}record_id IN ({marks})",
                    tuple(chunk),
                )
            for rid, eid in rows:
                out.setdefault(int(rid), set()).add(int(eid))
        return out

    def add_links(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Live links (record id, entry id); a former link of the same pair becomes live."""
        if not pairs:
            return
        again = "ON CONFLICT (record_id, entry_id) DO UPDATE SET live = true"
        if self.pg:
            self._raw().execute(
                "INSERT INTO feed_record_entries (record_id, entry_id) "
                f"SELECT * FROM unnest(%s::bigint[], %s::bigint[]) {again}",
                ([p[0] for p in pairs], [p[1] for p in pairs]),
                prepare=False,
            )
            return
        self.conn.exec_driver_sql(
            f"INSERT INTO feed_record_entries (record_id, entry_id) VALUES (?, ?) {again}",
            list(pairs),
        )

    def retire_links(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Links (record id, entry id) a record let go of become former links (``live``
        false): they carry nothing, and name the entry's provenance once nothing does."""
        if not pairs:
            return
        mark = "%s" if self.pg else "?"
        sql = (
            "UPDATE feed_record_entries SET live = false "
            f"WHERE record_id = {mark} AND entry_id = {mark}"
        )
        if self.pg:
            with self._raw().cursor() as cursor:
                cursor.executemany(sql, list(pairs))
        else:
            self.conn.exec_driver_sql(sql, list(pairs))

    def carried(self, entry_ids: Sequence[int]) -> set[int]:
        """Those of ``entry_ids`` some record still carries (a live link)."""
        out: set[int] = set()
        for chunk in _chunks(list(entry_ids)):
            if self.pg:
                rows = self._select(
                    "SELECT DISTINCT entry_id FROM feed_record_entries "
                    "WHERE live AND entry_id = ANY(%s)",
                    (list(chunk),),
                )
            else:
                marks = ",".join("?" * len(chunk))
                rows = self._select(
                    "SELECT DISTINCT entry_id FROM feed_record_entries "
                    f"WHERE live AND entry_id IN ({marks})",
                    tuple(chunk),
                )
            out.update(int(r[0]) for r in rows)
        return out
