"""What the match index reads from the database: consistent views of the bank entries.

:meth:`IndexFeed.view` opens one read transaction (a snapshot: ``REPEATABLE READ`` on
PostgreSQL, a WAL read transaction on SQLite), so everything the index reads in one refresh
belongs to one moment, however long a full read of millions of rows takes. The view implements
``keepdown.matching.sync.FeedView``; how the index uses it is explained there.

The change mark is cheap on any size: the highest entry id (the primary key's last row) and the
``imports`` journal's totals (a small table). That works because every write to
``bank_entries`` is journaled in ``imports`` in its own transaction: bulk imports and single
entries (:mod:`keepdown.storage.bulk_import`) and removals (``SqlBankStore.remove_entry``).
A single removal's journal row names the entry (``(removed entry <id>)``), so removals made one
by one reach the index without reading anything else. Reading every tombstone walks the
partial index on ``removed_at`` (tombstones only, migration 0008); it is done only when the
journal says an import removed or restored entries (or its totals cannot be explained by
single removals).

Rows are read through the driver's own cursor in id-ordered pages: at ten million rows the
per-row cost of building SQLAlchemy rows was most of a full read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from keepdown.errors import StorageError
from keepdown.matching.sync import EntryRow, FeedMark, StatedRow
from keepdown.storage.bank_store import REMOVAL_JOURNAL_PREFIX
from keepdown.storage.migrate import current_revision

__all__ = ["ChangeMark", "EntryRow", "FeedView", "IndexFeed", "ping"]

#: The change mark's type (kept under its old name for callers).
ChangeMark = FeedMark

#: Ids per ``IN (...)`` list: well under SQLite's bound-parameter limit.
_IDS_PER_QUERY = 500


class IndexFeed:
    """Opens consistent views of the bank entries for the match index."""

    def __init__(self, engine: Engine, batch: int = 50_000) -> None:
        self.engine = engine
        self.batch = batch

    @contextlib.contextmanager
    def view(self) -> Iterator[FeedView]:
        """One read transaction; everything read through the view is of one moment."""
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield FeedView(conn, self.batch)
        except SQLAlchemyError as exc:
            raise StorageError(f"could not read the banks for the match index: {exc}") from exc

    def mark(self) -> FeedMark:
        """The current change mark (its own short transaction)."""
        with self.view() as view:
            return view.mark()


class FeedView:
    """Reads of one transaction (see ``keepdown.matching.sync.FeedView`` for the contract)."""

    def __init__(self, conn: Connection, batch: int) -> None:
        self.conn = conn
        self.batch = batch
        self.postgres = conn.dialect.name == "postgresql"
        self._mark = "%s" if self.postgres else "?"

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # The driver's cursor on this connection: same transaction, plain tuples.
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql.replace("?", self._mark), tuple(params))
            return list(cursor.fetchall())
        except self.conn.dialect.loaded_dbapi.Error as exc:
            raise StorageError(f"could not read the banks for the match index: {exc}") from exc
        finally:
            cursor.close()

    def mark(self) -> FeedMark:
        (max_id,) = self._rows("SELECT max(id) FROM bank_entries")[0]
        journal = self._rows(
            "SELECT count(*), coalesce(sum(added), 0), coalesce(sum(removed), 0), "
            "coalesce(sum(restored), 0) FROM imports WHERE status = 'done'"
        )[0]
        running = self._rows("SELECT id FROM imports WHERE status = 'running'")
        a, b, c, d = (int(x) for x in journal)
        return FeedMark(
            max_entry_id=int(max_id or 0),
            journal=(a, b, c, d),
            running=frozenset(int(r[0]) for r in running),
            ordered=not self.postgres,  # SQLite commits one writer at a time, ids in order
        )

    def _pages(self, where: str, after_id: int, up_to_id: int) -> Iterator[list[Any]]:
        sql = (
            "SELECT id, bank_id, signal_type, value, removed_at IS NOT NULL FROM bank_entries "
            f"WHERE id > ? AND id <= ?{where} ORDER BY id LIMIT {int(self.batch)}"
        )
        low = after_id
        while low < up_to_id:
            rows = self._rows(sql, (low, up_to_id))
            if not rows:
                return
            yield rows
            low = rows[-1][0]

    def entries(self, after_id: int, up_to_id: int) -> Iterator[Sequence[StatedRow]]:
        yield from self._pages("", after_id, up_to_id)  # the last column is truthy if removed

    def active(self, after_id: int, up_to_id: int) -> Iterator[Sequence[EntryRow]]:
        yield from self._pages(" AND removed_at IS NULL", after_id, up_to_id)

    def active_by_id(self, ids: np.ndarray) -> Iterator[Sequence[EntryRow]]:
        for chunk in _chunks(ids):
            yield self._rows(
                "SELECT id, bank_id, signal_type, value FROM bank_entries "
                f"WHERE removed_at IS NULL AND id IN ({_marks(chunk)}) ORDER BY id",
                chunk,
            )

    def count_active_after(self, after_id: int) -> int:
        """Active entries above an id (for ``keepdown index status``)."""
        sql = "SELECT count(*) FROM bank_entries WHERE id > ? AND removed_at IS NULL"
        return int(self._rows(sql, (after_id,))[0][0])

    def single_removals(self, after_import_id: int) -> list[tuple[int, int]]:
        """(journal id, entry id) of single removals journaled after ``after_import_id``."""
        rows = self._rows(
            "SELECT id, file_name FROM imports WHERE id > ? AND status = 'done' "
            "AND file_name LIKE ? ORDER BY id",
            (after_import_id, REMOVAL_JOURNAL_PREFIX + "%"),
        )
        width = len(REMOVAL_JOURNAL_PREFIX)
        out = []
        for journal_id, name in rows:
            digits = name[width:-1]
            # An imported file may be named like this: claims are checked (removed_among).
            out.append((int(journal_id), int(digits) if digits.isdigit() else -1))
        return out

    def removed_among(self, ids: Iterable[int]) -> np.ndarray:
        """Those of ``ids`` that are removed entries, sorted."""
        found: list[int] = []
        for chunk in _chunks(ids):
            found += [
                int(r[0])
                for r in self._rows(
                    f"SELECT id FROM bank_entries WHERE removed_at IS NOT NULL "
                    f"AND id IN ({_marks(chunk)})",
                    chunk,
                )
            ]
        return np.unique(np.array(found, dtype=np.int64))

    def tombstones(self) -> np.ndarray:
        rows = self._rows("SELECT id FROM bank_entries WHERE removed_at IS NOT NULL")
        return np.unique(np.array([r[0] for r in rows], dtype=np.int64))

    def finished(self, import_ids: Iterable[int]) -> set[int]:
        out: set[int] = set()
        for chunk in _chunks(import_ids):
            out.update(
                int(r[0])
                for r in self._rows(
                    f"SELECT id FROM imports WHERE id IN ({_marks(chunk)}) AND status = 'done' "
                    "AND added + removed + restored > 0",
                    chunk,
                )
            )
        return out

    def identity(self) -> dict[str, Any]:
        return {"dialect": self.conn.dialect.name, "revision": current_revision(self.conn)}

    def values(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        out: dict[int, tuple[str, str]] = {}
        for chunk in _chunks(ids):
            for entry_id, signal, value in self._rows(
                f"SELECT id, signal_type, value FROM bank_entries WHERE id IN ({_marks(chunk)})",
                chunk,
            ):
                out[int(entry_id)] = (signal, value)
        return out


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    items = [int(i) for i in ids]
    for start in range(0, len(items), _IDS_PER_QUERY):
        yield items[start : start + _IDS_PER_QUERY]


def _marks(chunk: list[int]) -> str:
    return ", ".join("?" * len(chunk))


def ping(engine: Engine) -> None:
    """StorageError unless the database answers a trivial query (readiness checks)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise StorageError("the database does not answer") from exc
