"""Match counts, quarantines and negative banks in SQL.

- :class:`SqlQuarantineStore` implements :class:`keepdown.exchanges.quarantine.QuarantineStore`:
  counts are added with an upsert (``ON CONFLICT DO UPDATE SET count = count + ...``), so
  several processes' matches add up; a quarantine is opened only when no active one exists for
  the entry (checked and written in one transaction);
- :class:`SqlNegativeStore` implements :class:`keepdown.exchanges.negative.NegativeStore` and
  makes negative banks (kept disabled as banks: they are never matched as known material).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.exchanges.negative import NegativeBank, scope_names
from keepdown.exchanges.quarantine import Quarantine
from keepdown.storage.engine import storage_errors
from keepdown.storage.schema import aware
from keepdown.storage.tables_banks import bank_entries, banks
from keepdown.storage.tables_exchanges import match_counts, negative_banks, quarantines

__all__ = ["SqlNegativeStore", "SqlQuarantineStore"]

_Q = quarantines.c
_C = match_counts.c


class SqlQuarantineStore:
    """Counts and quarantines (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_counts(self, counts: Mapping[tuple[int, int], int]) -> None:
        if not counts:
            return
        mark = "%s" if self.engine.dialect.name == "postgresql" else "?"
        sql = (
            f"INSERT INTO match_counts (entry_id, bucket, count) VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (entry_id, bucket) "
            "DO UPDATE SET count = match_counts.count + excluded.count"
        )
        rows = [(int(e), int(b), int(n)) for (e, b), n in counts.items()]
        with storage_errors("counting matches"), self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                    cursor.executemany(sql, rows)
            else:
                conn.exec_driver_sql(sql, rows)

    def window_counts(self, since_bucket: int) -> dict[int, int]:
        query = (
            select(_C.entry_id, func.sum(_C.count))
            .where(_C.bucket >= since_bucket)
            .group_by(_C.entry_id)
        )
        with storage_errors("reading match counts"), self.engine.connect() as conn:
            return {int(e): int(n) for e, n in conn.execute(query)}

    def count_between(self, entry_id: int, first_bucket: int, last_bucket: int) -> int:
        query = select(func.coalesce(func.sum(_C.count), 0)).where(
            _C.entry_id == entry_id, _C.bucket >= first_bucket, _C.bucket <= last_bucket
        )
        with storage_errors("reading match counts"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def prune(self, before_bucket: int) -> int:
        """Forget counts older than the baseline needs (a periodic task)."""
        with storage_errors("pruning match counts"), self.engine.begin() as conn:
            return int(conn.execute(delete(match_counts).where(_C.bucket < before_bucket)).rowcount)

    def open(
        self,
        entry_id: int,
        matches: int,
        baseline: float,
        threshold: int,
        window_seconds: int,
        now: datetime,
    ) -> Quarantine | None:
        with storage_errors("quarantining an entry"), self.engine.begin() as conn:
            if conn.execute(
                select(_Q.id).where(_Q.entry_id == entry_id, _Q.state == "active")
            ).first():
                return None
            conn.execute(
                insert(quarantines),
                {
                    "entry_id": entry_id,
                    "state": "active",
                    "matches": matches,
                    "baseline": baseline,
                    "threshold": threshold,
                    "window_seconds": window_seconds,
                    "quarantined_at": now,
                },
            )
        return self.active().get(entry_id)

    def active(self) -> dict[int, Quarantine]:
        return {q.entry_id: q for q in self.quarantines(states=("active",))}

    def quarantines(
        self, *, states: Sequence[str] | None = None, limit: int = 1000
    ) -> list[Quarantine]:
        query = _query().order_by(_Q.id.desc()).limit(limit)
        if states is not None:
            query = query.where(_Q.state.in_(list(states)))
        with storage_errors("reading quarantines"), self.engine.connect() as conn:
            return [_quarantine(r) for r in conn.execute(query).mappings()]

    def last_lifts(self) -> dict[int, datetime]:
        query = (
            select(_Q.entry_id, func.max(_Q.lifted_at))
            .where(_Q.lifted_at.is_not(None))
            .group_by(_Q.entry_id)
        )
        with storage_errors("reading quarantines"), self.engine.connect() as conn:
            return {int(e): aware(at) for e, at in conn.execute(query) if at is not None}

    def lift(
        self, entry_id: int, by: str, note: str, now: datetime, *, outcome: str = "lifted"
    ) -> Quarantine:
        """End the entry's active quarantine (``outcome``: lifted, or removed with the entry)."""
        if outcome not in ("lifted", "removed"):
            raise InvalidInput("a quarantine ends lifted or removed")
        with storage_errors("lifting a quarantine"), self.engine.begin() as conn:
            done = conn.execute(
                update(quarantines)
                .where(_Q.entry_id == entry_id, _Q.state == "active")
                .values(state=outcome, lifted_at=now, lifted_by=by[:200], note=note[:2000])
            ).rowcount
        if not done:
            raise NotFound(f"entry {entry_id} is not quarantined", entry_id=entry_id)
        return next(q for q in self.quarantines() if q.entry_id == entry_id)


def _query() -> Any:
    return (
        select(quarantines, bank_entries.c.signal_type, banks.c.name.label("bank"))
        .join(bank_entries, bank_entries.c.id == _Q.entry_id)
        .join(banks, banks.c.id == bank_entries.c.bank_id)
    )


def _quarantine(row: Any) -> Quarantine:
    return Quarantine(
        id=row["id"],
        entry_id=row["entry_id"],
        bank=row["bank"],
        signal_type=row["signal_type"],
        state=row["state"],
        matches=row["matches"],
        baseline=float(row["baseline"]),
        threshold=row["threshold"],
        window_seconds=row["window_seconds"],
        quarantined_at=row["quarantined_at"],
        lifted_at=row["lifted_at"],
        lifted_by=row["lifted_by"],
        note=row["note"] or "",
    )


class SqlNegativeStore:
    """Negative banks and their scopes (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def make_negative(
        self, bank: str, scope: Sequence[str], by: str, now: datetime
    ) -> NegativeBank:
        """Turn ``bank`` into a negative bank silencing ``scope`` (bank names); it is disabled
        as a bank from then on, so it is never matched as known material."""
        names = scope_names(scope)
        if not names:
            raise InvalidInput("a negative bank needs a scope: the banks (feeds) it silences")
        with storage_errors("making a negative bank"), self.engine.begin() as conn:
            bank_id = _bank_id(conn, bank)
            known = {
                r[0] for r in conn.execute(select(banks.c.name).where(banks.c.name.in_(names)))
            }
            missing = [n for n in names if n not in known]
            if missing:
                raise NotFound(f"no bank named {', '.join(missing)}", banks=missing)
            if bank in names:
                raise InvalidInput("a negative bank cannot silence itself")
            scoped_ids = select(banks.c.id).where(banks.c.name.in_(names))
            if conn.execute(
                select(negative_banks.c.bank_id).where(negative_banks.c.bank_id.in_(scoped_ids))
            ).first():
                raise Conflict("a negative bank cannot silence another negative bank")
            conn.execute(
                update(banks).where(banks.c.id == bank_id).values(enabled=False, updated_at=now)
            )
            found = conn.execute(
                select(negative_banks.c.bank_id).where(negative_banks.c.bank_id == bank_id)
            ).first()
            values = {"scope": list(names), "created_by": by[:200], "created_at": now}
            if found is None:
                conn.execute(insert(negative_banks), {"bank_id": bank_id, **values})
            else:
                conn.execute(
                    update(negative_banks)
                    .where(negative_banks.c.bank_id == bank_id)
                    .values(**values)
                )
        return next(b for b in self.negative_banks() if b.bank == bank)

    def negative_banks(self) -> list[NegativeBank]:
        query = select(negative_banks, banks.c.name, banks.c.thresholds).join(
            banks, banks.c.id == negative_banks.c.bank_id
        )
        with storage_errors("reading negative banks"), self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            NegativeBank(
                bank=r["name"],
                bank_id=r["bank_id"],
                scope=tuple(r["scope"] or ()),
                pdq_threshold=_own_pdq_threshold(r["thresholds"]),
                created_by=r["created_by"],
                created_at=r["created_at"],
            )
            for r in rows
        ]

    def is_negative(self, bank_id: int) -> bool:
        with storage_errors("reading negative banks"), self.engine.connect() as conn:
            return (
                conn.execute(
                    select(negative_banks.c.bank_id).where(negative_banks.c.bank_id == bank_id)
                ).first()
                is not None
            )


def _bank_id(conn: Any, name: str) -> int:
    found = conn.execute(select(banks.c.id).where(banks.c.name == name)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no bank named {name!r}", bank=name)
    return int(found)


def _own_pdq_threshold(thresholds: dict[str, int] | None) -> int | None:
    """The bank's own PDQ threshold, or None: the matcher applies the default policy."""
    value = (thresholds or {}).get("pdq")
    return None if value is None else int(value)
