"""The SQL implementation of :class:`keepdown.banks.model.BankStore`.

Banks and entries go in and out as the domain's frozen dataclasses; no SQLAlchemy object
leaves this module. The bulk import lives in :mod:`keepdown.storage.bulk_import`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.banks.classification import Classification
from keepdown.banks.model import (
    Bank,
    BankSettingsChange,
    BankSpec,
    Entry,
    ImportFile,
    ImportResult,
    ImportRun,
    RemovalReason,
    Tombstone,
    TrustLevel,
)
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import Conflict, NotFound
from keepdown.hashing.types import SignalType
from keepdown.storage import bulk_import
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_access import organisations
from keepdown.storage.tables_banks import bank_entries, banks, entry_key, imports

__all__ = ["SqlBankStore"]

#: ``imports.file_name`` of the journal row a single removal writes, then the entry's id and
#: ")": the match index reads which entry went from it (keepdown.storage.index_feed).
REMOVAL_JOURNAL_PREFIX = "(removed entry "
#: Rows fetched per round trip when streaming entries out (exports of millions).
STREAM_BATCH = 10_000


class SqlBankStore:
    """Banks, entries and imports in SQL (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- banks -------------------------------------------------------------------------

    def create_bank(self, spec: BankSpec, now: datetime) -> Bank:
        with storage_errors("creating a bank"):
            try:
                with self.engine.begin() as conn:
                    owner_id = self._organisation_id(conn, spec.owner, now)
                    conn.execute(
                        insert(banks),
                        {
                            "name": spec.name,
                            "owner_id": owner_id,
                            "source": spec.source,
                            "source_terms": spec.source_terms,
                            "category": _opt(spec.classification, "category"),
                            "maturity": _opt(spec.classification, "maturity"),
                            "default_label": spec.default_label,
                            "trust": str(spec.trust),
                            "thresholds": dict(spec.thresholds),
                            "enabled": True,
                            "created_at": now,
                            "updated_at": now,
                        },
                    )
            except IntegrityError as exc:
                raise Conflict(
                    f"a bank named {spec.name!r} already exists", bank=spec.name
                ) from exc
        return self.get_bank(spec.name)

    def _organisation_id(self, conn: Any, name: str, now: datetime) -> int:
        found = conn.execute(
            select(organisations.c.id).where(organisations.c.name == name)
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
        return int(
            conn.execute(
                insert(organisations).returning(organisations.c.id),
                {"name": name, "created_at": now},
            ).scalar_one()
        )

    def get_bank(self, name: str) -> Bank:
        with storage_errors("reading a bank"), self.engine.connect() as conn:
            row = conn.execute(_bank_query().where(banks.c.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no bank named {name!r}", bank=name)
        return self._bank(row)

    def list_banks(self) -> list[Bank]:
        with storage_errors("listing banks"), self.engine.connect() as conn:
            rows = conn.execute(_bank_query().order_by(banks.c.name)).all()
        return [self._bank(row) for row in rows]

    def change_settings(self, name: str, change: BankSettingsChange, now: datetime) -> Bank:
        """Every change moves ``updated_at``, part of the index feed's change mark
        (:mod:`keepdown.storage.index_feed`): the live index re-reads the bank's settings on
        its next refresh, with no restart."""
        values: dict[str, Any] = {"updated_at": now}
        if change.enabled is not None:
            values["enabled"] = change.enabled
        if change.robust is not None:
            values["robust"] = change.robust
        if change.trust is not None:
            values["trust"] = str(change.trust)
        if change.thresholds is not None:
            values["thresholds"] = dict(change.thresholds)
        if change.accepted is not None:
            values["accepted_at"] = now if change.accepted else None
            values["accepted_by"] = (change.accepted_by or None) if change.accepted else None
        if change.label is not None and change.classification is not None:
            values.update(
                default_label=change.label,
                category=str(change.classification.category),
                maturity=str(change.classification.maturity),
            )
        with storage_errors("updating a bank"), self.engine.begin() as conn:
            done = conn.execute(update(banks).where(banks.c.name == name).values(**values))
        if done.rowcount == 0:
            raise NotFound(f"no bank named {name!r}", bank=name)
        return self.get_bank(name)

    def _bank(self, row: Row[Any]) -> Bank:
        m = row._mapping
        return Bank(
            id=m["id"],
            name=m["name"],
            owner=m["owner"],
            source=m["source"],
            source_terms=m["source_terms"],
            classification=_classification(m["category"], m["maturity"]),
            default_label=m["default_label"],
            trust=TrustLevel(m["trust"]),
            thresholds=dict(m["thresholds"] or {}),
            enabled=bool(m["enabled"]),
            robust=bool(m["robust"]),
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            accepted_at=m["accepted_at"],
            accepted_by=m["accepted_by"],
        )

    # --- entries -----------------------------------------------------------------------

    def entry_counts(self, bank_id: int) -> dict[str, dict[str, int]]:
        c = bank_entries.c
        query = (
            select(c.signal_type, c.removed_at.is_(None).label("active"), func.count())
            .where(c.bank_id == bank_id)
            .group_by(c.signal_type, c.removed_at.is_(None))
        )
        counts: dict[str, dict[str, int]] = {}
        with storage_errors("counting entries"), self.engine.connect() as conn:
            for signal_type, active, n in conn.execute(query):
                per_type = counts.setdefault(signal_type, {"active": 0, "removed": 0})
                per_type["active" if active else "removed"] += n
        return counts

    def import_entries(
        self,
        bank: Bank,
        items: Iterable[EntryRecord | LineError],
        source: ImportFile,
        now: datetime,
        *,
        skip_invalid: bool = False,
        restore: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        return bulk_import.import_entries(
            self.engine,
            bank,
            items,
            source,
            now,
            skip_invalid=skip_invalid,
            restore=restore,
            progress=progress,
        )

    def fail_interrupted_imports(self, started_before: datetime, now: datetime) -> list[int]:
        return bulk_import.fail_interrupted(self.engine, started_before, now)

    def list_imports(self, bank_id: int, limit: int = 10) -> list[ImportRun]:
        query = (
            select(imports)
            .where(imports.c.bank_id == bank_id)
            .order_by(imports.c.id.desc())
            .limit(limit)
        )
        with storage_errors("listing imports"), self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [ImportRun(**{k: v for k, v in row.items() if k != "bank_id"}) for row in rows]

    def iter_entries(self, bank_id: int, *, include_removed: bool = True) -> Iterator[Entry]:
        query = select(bank_entries).where(bank_entries.c.bank_id == bank_id)
        if not include_removed:
            query = query.where(bank_entries.c.removed_at.is_(None))
        with storage_errors("reading entries"), self.engine.connect() as conn:
            # yield_per streams with a server-side cursor on PostgreSQL: exports of millions
            # of entries never hold them all in memory.
            result = conn.execution_options(yield_per=STREAM_BATCH).execute(
                query.order_by(bank_entries.c.id)
            )
            for row in result.mappings():
                yield _entry(row)

    def page_entries(
        self, bank_id: int, *, after: int = 0, limit: int = 100, include_removed: bool = True
    ) -> list[Entry]:
        """Up to ``limit`` entries with an id above ``after``, by id (keyset pagination:
        each page is one index range read, however deep into a large bank)."""
        c = bank_entries.c
        query = select(bank_entries).where(c.bank_id == bank_id, c.id > after)
        if not include_removed:
            query = query.where(c.removed_at.is_(None))
        with storage_errors("reading entries"), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(c.id).limit(limit)).mappings().all()
        return [_entry(row) for row in rows]

    def get_entry(self, bank_id: int, signal_type: str, value: str) -> Entry:
        c = bank_entries.c
        wanted = value.lower()
        query = select(bank_entries).where(
            c.bank_id == bank_id,
            c.signal_type == str(signal_type),
            c.value_key == entry_key(wanted),
        )
        with storage_errors("reading an entry"), self.engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no {signal_type} entry {value} in this bank", value=value)
        return _entry(row)

    def remove_entry(
        self, bank: Bank, signal_type: str, value: str, reason: RemovalReason, now: datetime
    ) -> Tombstone:
        entry = self.get_entry(bank.id, signal_type, value)
        with storage_errors("removing an entry"), self.engine.begin() as conn:
            done = conn.execute(
                update(bank_entries)
                .where(bank_entries.c.id == entry.id, bank_entries.c.removed_at.is_(None))
                .values(removed_at=now, removal_reason=str(reason))
            )
            if done.rowcount:
                # Journaled like any import, in the same transaction: the match index's
                # change mark reads the journal's totals (keepdown.storage.index_feed).
                conn.execute(insert(imports), _removal_journal(bank, entry, now))
        if done.rowcount == 0:
            removed = self.get_entry(bank.id, signal_type, value)
            raise Conflict(
                f"{signal_type} {entry.value} was already removed from {bank.name} on "
                f"{removed.removed_at:%Y-%m-%d} ({removed.removal_reason})",
                bank=bank.name,
            )
        return Tombstone(
            entry_id=entry.id,
            bank=bank.name,
            signal_type=entry.signal_type,
            value=entry.value,
            removed_at=now,
            reason=reason,
        )


def _removal_journal(bank: Bank, entry: Entry, now: datetime) -> dict[str, Any]:
    return {
        "bank_id": bank.id,
        "file_name": f"{REMOVAL_JOURNAL_PREFIX}{entry.id})",
        "sha256": hashlib.sha256(f"{entry.signal_type}:{entry.value}".encode()).hexdigest(),
        "started_at": now,
        "finished_at": now,
        "status": "done",
        "lines": 1,
        "removed": 1,
    }


def _bank_query() -> Any:
    return select(banks, organisations.c.name.label("owner")).join(
        organisations, organisations.c.id == banks.c.owner_id
    )


def _opt(classification: Classification | None, attribute: str) -> str | None:
    return None if classification is None else str(getattr(classification, attribute))


def _classification(category: str | None, maturity: str | None) -> Classification | None:
    if category is None:
        return None
    return Classification(category, maturity or "unknown")  # type: ignore[arg-type]


def _entry(row: Any) -> Entry:
    return Entry(
        id=row["id"],
        bank_id=row["bank_id"],
        signal_type=SignalType(row["signal_type"]),
        value=row["value"],
        source_label=row["source_label"],
        classification=_classification(row["category"], row["maturity"]),
        source_id=row["source_id"],
        notes=row["notes"],
        added_at=row["added_at"],
        removed_at=row["removed_at"],
        removal_reason=row["removal_reason"],
    )
