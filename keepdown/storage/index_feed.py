"""What the live match index reads from the database: entries, removals and a change mark.

The API keeps its match index current without a restart by polling :meth:`IndexFeed.mark`
(a few aggregate numbers that change whenever a bank's entries or settings change) and then
reading only what changed: entries added after the highest id it has, entries removed after
the last removal time it saw. A restored tombstone (``restore`` imports) keeps its id, so a
change in the restored count asks for a full reload instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from keepdown.errors import StorageError
from keepdown.storage.schema import bank_entries, banks, imports

__all__ = ["ChangeMark", "EntryRow", "IndexFeed", "ping"]

#: (entry id, bank id, signal type, hex value)
EntryRow = tuple[int, int, str, str]


@dataclass(frozen=True)
class ChangeMark:
    """Aggregates that move whenever the banks change."""

    max_entry_id: int
    last_removed_at: datetime | None
    banks_updated_at: datetime | None
    bank_count: int
    restored: int


class IndexFeed:
    """Reads entries for the match index."""

    def __init__(self, engine: Engine, batch: int = 50_000) -> None:
        self.engine = engine
        self.batch = batch

    def mark(self) -> ChangeMark:
        try:
            with self.engine.connect() as conn:
                entries = conn.execute(
                    select(func.max(bank_entries.c.id), func.max(bank_entries.c.removed_at))
                ).one()
                bank_row = conn.execute(
                    select(func.max(banks.c.updated_at), func.count(banks.c.id))
                ).one()
                restored = conn.execute(select(func.sum(imports.c.restored))).scalar()
        except SQLAlchemyError as exc:
            raise StorageError(f"could not read the bank change mark: {exc}") from exc
        return ChangeMark(
            max_entry_id=int(entries[0] or 0),
            last_removed_at=entries[1],
            banks_updated_at=bank_row[0],
            bank_count=int(bank_row[1] or 0),
            restored=int(restored or 0),
        )

    def active_after(self, after_id: int, up_to_id: int) -> Iterator[EntryRow]:
        """Active entries with ``after_id < id <= up_to_id``, in id order, in batches."""
        low = after_id
        while low < up_to_id:
            query = (
                select(
                    bank_entries.c.id,
                    bank_entries.c.bank_id,
                    bank_entries.c.signal_type,
                    bank_entries.c.value,
                )
                .where(
                    bank_entries.c.id > low,
                    bank_entries.c.id <= up_to_id,
                    bank_entries.c.removed_at.is_(None),
                )
                .order_by(bank_entries.c.id)
                .limit(self.batch)
            )
            rows = self._rows(query)
            if not rows:
                return
            yield from rows
            low = rows[-1][0]

    def removed_since(self, since: datetime | None) -> list[int]:
        """Ids of entries removed at or after ``since`` (all removed entries when None)."""
        query = select(bank_entries.c.id).where(bank_entries.c.removed_at.is_not(None))
        if since is not None:
            query = query.where(bank_entries.c.removed_at >= since)
        return [int(r[0]) for r in self._rows(query)]

    def _rows(self, query: object) -> list[EntryRow]:
        try:
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(query)]  # type: ignore[arg-type,misc]
        except SQLAlchemyError as exc:
            raise StorageError(f"could not read bank entries: {exc}") from exc


def ping(engine: Engine) -> None:
    """StorageError unless the database answers a trivial query (readiness checks)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise StorageError("the database does not answer") from exc
