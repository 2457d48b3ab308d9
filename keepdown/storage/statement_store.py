"""SQL store of statements of reasons (``keepdown.filings.sor_model.StatementStore``).

1. ``plan`` inserts only PUIDs new for their organisation and environment (the unique key:
   two processes planning at once store each statement once);
2. ``claim`` marks up to ``limit`` due statements ``sending`` in one batch under a lease, in
   one write transaction (a statement whose lease ran out is taken again);
3. ``settle`` changes only the statements still in the batch, with the batch's events, in one
   transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.events import Event
from keepdown.filings.sor_model import (
    PlannedStatement,
    StatementState,
    StoredStatement,
)
from keepdown.storage.engine import storage_errors
from keepdown.storage.notice_rows import emit
from keepdown.storage.tables_filings import dsa_statements

__all__ = ["SqlStatements"]

S = dsa_statements.c


def _due(now: datetime) -> Any:
    pending = and_(
        S.state == StatementState.PENDING.value,
        or_(S.next_attempt_at.is_(None), S.next_attempt_at <= now),
    )
    abandoned = and_(S.state == StatementState.SENDING.value, S.lease_expires <= now)
    return or_(pending, abandoned)


class SqlStatements:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def plan(self, statements: Sequence[PlannedStatement], now: datetime) -> int:
        added = 0
        for chunk_start in range(0, len(statements), 500):
            chunk = statements[chunk_start : chunk_start + 500]
            with storage_errors("planning statements of reasons"), self.engine.begin() as conn:
                known = self._known(conn, chunk)
                for p in chunk:
                    if (p.organisation, p.environment, p.puid) in known:
                        continue
                    try:
                        with conn.begin_nested():
                            conn.execute(insert(dsa_statements).values(**_row(p, now)))
                    except IntegrityError:
                        continue  # another process planned it a moment ago
                    known.add((p.organisation, p.environment, p.puid))
                    added += 1
        return added

    def _known(self, conn: Any, chunk: Sequence[PlannedStatement]) -> set[tuple[str, str, str]]:
        puids = [p.puid for p in chunk]
        query = select(S.organisation, S.environment, S.puid).where(S.puid.in_(puids))
        return {(r.organisation, r.environment, r.puid) for r in conn.execute(query)}

    def claim(
        self,
        organisation: str,
        environment: str,
        now: datetime,
        lease_seconds: float,
        batch: str,
        limit: int,
    ) -> list[StoredStatement]:
        mine = and_(S.organisation == organisation, S.environment == environment)
        with storage_errors("claiming statements of reasons"), self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    select(S.id)
                    .where(mine, _due(now))
                    .order_by(S.id)
                    .limit(limit)
                    .with_for_update()
                ).scalars()
            )
            if not ids:
                return []
            conn.execute(
                update(dsa_statements)
                .where(S.id.in_(ids), _due(now))
                .values(
                    state=StatementState.SENDING.value,
                    batch=batch,
                    lease_expires=now + timedelta(seconds=lease_seconds),
                )
            )
            rows = conn.execute(select(dsa_statements).where(S.batch == batch).order_by(S.id)).all()
            return [_stored(r) for r in rows]

    def settle(
        self, batch: str, outcomes: dict[int, dict[str, Any]], events: Sequence[Event]
    ) -> int:
        settled = 0
        with storage_errors("settling statements of reasons"), self.engine.begin() as conn:
            for row_id, values in outcomes.items():
                columns = {
                    k: (v.value if isinstance(v, StatementState) else v) for k, v in values.items()
                }
                settled += conn.execute(
                    update(dsa_statements)
                    .where(
                        S.id == row_id,
                        S.batch == batch,
                        S.state == StatementState.SENDING.value,
                    )
                    .values(**columns)
                ).rowcount
            if settled:
                emit(conn, list(events))
        return settled

    def waiting(self, now: datetime) -> list[tuple[str, str]]:
        query = select(S.organisation, S.environment).where(_due(now)).distinct()
        with storage_errors("reading statements of reasons"), self.engine.connect() as conn:
            return sorted((r.organisation, r.environment) for r in conn.execute(query))

    def select(
        self,
        *,
        organisation: str | None = None,
        states: Sequence[StatementState] | None = None,
        limit: int = 100,
    ) -> list[StoredStatement]:
        query = select(dsa_statements).order_by(S.id.desc()).limit(limit)
        if organisation is not None:
            query = query.where(S.organisation == organisation)
        if states is not None:
            query = query.where(S.state.in_([s.value for s in states]))
        with storage_errors("reading statements of reasons"), self.engine.connect() as conn:
            return [_stored(r) for r in conn.execute(query)]

    def counts(self, organisation: str | None = None) -> dict[str, int]:
        query = select(S.state, func.count()).group_by(S.state)
        if organisation is not None:
            query = query.where(S.organisation == organisation)
        out = {s.value: 0 for s in StatementState}
        with storage_errors("counting statements of reasons"), self.engine.connect() as conn:
            for state, n in conn.execute(query):
                out[state] = int(n)
        return out


def _row(p: PlannedStatement, now: datetime) -> dict[str, Any]:
    return {
        "organisation": p.organisation,
        "environment": p.environment,
        "puid": p.puid,
        "decision": p.decision,
        "decided_at": p.decided_at,
        "body": p.body,
        "state": (StatementState.INVALID if p.problems else StatementState.PENDING).value,
        "last_error": "; ".join(p.problems)[:2000],
        "planned_at": now,
    }


def _stored(row: Row[Any]) -> StoredStatement:
    return StoredStatement(
        id=int(row.id),
        organisation=row.organisation,
        environment=row.environment,
        puid=row.puid,
        decision=row.decision,
        decided_at=row.decided_at,
        body=dict(row.body),
        state=StatementState(row.state),
        attempts=int(row.attempts),
        batch=row.batch,
        lease_expires=row.lease_expires,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        database_id=row.database_id,
        last_error=row.last_error,
    )
