"""The exchanges' outbox on SQL (:class:`keepdown.exchanges.outbox.OutboxStore`).

Every step is one compare-and-set on a row, so two workers (``keepdown worker`` processes on
PostgreSQL) never both take one message: a claim is ``UPDATE ... WHERE state = 'pending'``,
a settle ``UPDATE ... WHERE state = 'sending' AND lease_owner = me``. Recording a plan and
moving the planner's cursor happen in one transaction, so a decision is planned exactly once
whatever dies when.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, case, insert, or_, select, update

from keepdown.errors import Conflict, NotFound
from keepdown.exchanges.outbox import OutboxItem, OutboxKind, OutboxState, Planned
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_exchanges import exchange_cursors, exchange_outbox

__all__ = ["SqlExchangeOutbox"]

_O = exchange_outbox.c


class _Moved(Exception):
    """Another planner moved the cursor first: this plan is dropped (its rows too)."""


class SqlExchangeOutbox:
    """The outbox of feedback and submissions (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- 1. record -----------------------------------------------------------------------------

    def record(
        self,
        planned: Sequence[Planned],
        now: datetime,
        *,
        cursor: tuple[str, int, int] | None = None,
    ) -> int:
        changed = 0
        try:
            with storage_errors("recording outgoing messages"), self.engine.begin() as conn:
                if cursor is not None:
                    self._move(conn, *cursor)
                for plan in planned:
                    changed += self._upsert(conn, plan, now)
        except _Moved:
            return 0
        return changed

    def _move(self, conn: Any, name: str, expected: int, new: int) -> None:
        c = exchange_cursors.c
        found = conn.execute(select(c.position).where(c.name == name)).scalar_one_or_none()
        if found is None:
            if expected != 0:
                raise _Moved
            conn.execute(insert(exchange_cursors), {"name": name, "position": new})
            return
        done = conn.execute(
            update(exchange_cursors)
            .where(c.name == name, c.position == expected)
            .values(position=new)
        ).rowcount
        if not done:
            raise _Moved

    def _upsert(self, conn: Any, plan: Planned, now: datetime) -> int:
        row = conn.execute(
            select(_O.id, _O.payload, _O.state).where(
                _O.kind == str(plan.kind), _O.target == plan.target
            )
        ).first()
        payload = {"message": dict(plan.message), "because": dict(plan.because)}
        if row is None:
            conn.execute(
                insert(exchange_outbox),
                {
                    "kind": str(plan.kind),
                    "feed_id": plan.feed_id,
                    "target": plan.target[:300],
                    "payload": payload,
                    "state": OutboxState.PENDING.value,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            return 1
        if (row.payload or {}).get("message") == payload["message"]:
            conn.execute(update(exchange_outbox).where(_O.id == row.id).values(payload=payload))
            return 0  # the same message: the exchange has it, or will
        values: dict[str, Any] = {"payload": payload, "version": _O.version + 1, "updated_at": now}
        if row.state in (OutboxState.SENT.value, OutboxState.FAILED.value):
            values.update(
                state=OutboxState.PENDING.value, attempts=0, next_attempt_at=None, last_error=""
            )
        conn.execute(update(exchange_outbox).where(_O.id == row.id).values(**values))
        return 1

    def cursor(self, name: str) -> int:
        c = exchange_cursors.c
        with storage_errors("reading a planner's cursor"), self.engine.connect() as conn:
            found = conn.execute(select(c.position).where(c.name == name)).scalar_one_or_none()
        return int(found or 0)

    # --- 2 and 3. claim and settle ---------------------------------------------------------------

    def claim(
        self, now: datetime, owner: str, until: datetime, *, kinds: Sequence[OutboxKind]
    ) -> OutboxItem | None:
        due = and_(
            _O.state == OutboxState.PENDING.value,
            _O.kind.in_([str(k) for k in kinds]),
            or_(_O.next_attempt_at.is_(None), _O.next_attempt_at <= now),
        )
        with storage_errors("claiming an outgoing message"), self.engine.begin() as conn:
            for (candidate,) in conn.execute(select(_O.id).where(due).order_by(_O.id).limit(5)):
                taken = conn.execute(
                    update(exchange_outbox)
                    .where(_O.id == candidate, _O.state == OutboxState.PENDING.value)
                    .values(
                        state=OutboxState.SENDING.value,
                        attempts=_O.attempts + 1,
                        lease_owner=owner[:64],
                        lease_expires=until,
                        updated_at=now,
                    )
                ).rowcount
                if taken:
                    return _item(
                        conn.execute(select(exchange_outbox).where(_O.id == candidate))
                        .mappings()
                        .one()
                    )
        return None

    def _mine(self, item: OutboxItem, owner: str) -> Any:
        return and_(
            _O.id == item.id, _O.state == OutboxState.SENDING.value, _O.lease_owner == owner[:64]
        )

    def settle_sent(self, item: OutboxItem, owner: str, now: datetime, **values: Any) -> bool:
        newer = case(
            (_O.version == item.version, OutboxState.SENT.value), else_=OutboxState.PENDING.value
        )
        with storage_errors("settling an outgoing message"), self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(exchange_outbox)
                    .where(self._mine(item, owner))
                    .values(
                        state=newer,
                        sent_version=item.version,
                        sent_at=now,
                        lease_owner=None,
                        lease_expires=None,
                        last_error="",
                        updated_at=now,
                        **values,
                    )
                ).rowcount
            )

    def settle_failed(
        self,
        item: OutboxItem,
        owner: str,
        now: datetime,
        *,
        error: str,
        retry_at: datetime | None,
    ) -> bool:
        state = OutboxState.PENDING if retry_at is not None else OutboxState.FAILED
        with storage_errors("settling an outgoing message"), self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(exchange_outbox)
                    .where(self._mine(item, owner))
                    .values(
                        state=state.value,
                        next_attempt_at=retry_at,
                        last_error=error[:4000],
                        lease_owner=None,
                        lease_expires=None,
                        updated_at=now,
                    )
                ).rowcount
            )

    # --- 4. recover ----------------------------------------------------------------------------

    def recover(
        self, now: datetime, *, uncertain: Callable[[OutboxItem], bool]
    ) -> list[OutboxItem]:
        stale = and_(_O.state == OutboxState.SENDING.value, _O.lease_expires < now)
        with storage_errors("recovering interrupted messages"), self.engine.begin() as conn:
            rows = [_item(r) for r in conn.execute(select(exchange_outbox).where(stale)).mappings()]
            for item in rows:
                state = OutboxState.UNCERTAIN if uncertain(item) else OutboxState.PENDING
                note = "sender interrupted; " + (
                    "it may have been sent: confirm or send again"
                    if state is OutboxState.UNCERTAIN
                    else "sending again (the exchange keeps one of each)"
                )
                conn.execute(
                    update(exchange_outbox)
                    .where(_O.id == item.id, stale)
                    .values(
                        state=state.value,
                        lease_owner=None,
                        lease_expires=None,
                        last_error=note,
                        updated_at=now,
                    )
                )
        return rows

    def set_audit(self, item_id: int, audit_id: int) -> None:
        with storage_errors("linking an audit record"), self.engine.begin() as conn:
            conn.execute(update(exchange_outbox).where(_O.id == item_id).values(audit_id=audit_id))

    # --- reading and operators -------------------------------------------------------------------

    def items(
        self,
        *,
        kind: OutboxKind | None = None,
        feed_id: int | None = None,
        states: Sequence[OutboxState] | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]:
        query = select(exchange_outbox).order_by(_O.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(_O.kind == str(kind))
        if feed_id is not None:
            query = query.where(_O.feed_id == feed_id)
        if states is not None:
            query = query.where(_O.state.in_([str(s) for s in states]))
        with storage_errors("listing outgoing messages"), self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(query).mappings()]

    def get(self, item_id: int) -> OutboxItem:
        with storage_errors("reading an outgoing message"), self.engine.connect() as conn:
            row = (
                conn.execute(select(exchange_outbox).where(_O.id == item_id))
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise NotFound(f"no outgoing message {item_id}", item=item_id)
        return _item(row)

    def resolve(self, item_id: int, now: datetime, *, delivered: bool) -> OutboxItem:
        item = self.get(item_id)
        if item.state not in (OutboxState.UNCERTAIN, OutboxState.FAILED):
            raise Conflict(f"message {item_id} is {item.state}, not uncertain or failed")
        values: dict[str, Any] = {"updated_at": now, "next_attempt_at": None}
        if delivered:
            values.update(state=OutboxState.SENT.value, sent_version=item.version, sent_at=now)
        else:
            values.update(state=OutboxState.PENDING.value, attempts=0)
        with storage_errors("resolving an outgoing message"), self.engine.begin() as conn:
            conn.execute(
                update(exchange_outbox)
                .where(_O.id == item_id, _O.state == item.state.value)
                .values(**values)
            )
        return self.get(item_id)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        kind=OutboxKind(row["kind"]),
        feed_id=row["feed_id"],
        target=row["target"],
        payload=dict(row["payload"] or {}),
        version=int(row["version"]),
        sent_version=row["sent_version"],
        state=OutboxState(row["state"]),
        attempts=int(row["attempts"]),
        next_attempt_at=row["next_attempt_at"],
        lease_owner=row["lease_owner"],
        lease_expires=row["lease_expires"],
        last_error=row["last_error"] or "",
        audit_id=row["audit_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sent_at=row["sent_at"],
    )
