"""The notice outbox on SQL: record the intent, claim, settle (part of ``SqlNoticeStore``).

Each step is one compare-and-set on the delivery row, so two senders (two ``keepdown worker``
processes on PostgreSQL) never both take one delivery:

1. :meth:`SqlOutbox.enqueue` records the intent (``pending``) under the notice's row lock,
   after asking the caller whether it is still due on the notice's current rows, and refuses
   a second delivery of one kind while one is on its way, and one to the same channel and
   recipients as the last of its kind when that one failed for good (``failed``: planned
   again once the provider's contact is edited, or an operator retries it). A message key
   already recorded is the same intent asked twice (an analyst's resend request): the
   delivery it names is answered, and nothing new is recorded;
2. :meth:`SqlOutbox.claim` moves one due ``pending`` row to ``sending`` (``UPDATE ... WHERE
   state = 'pending'``: whoever changes the row has it) and counts the attempt; a resend
   claims its own delivery by id;
3. :meth:`SqlOutbox.settle` moves a row out of the state the caller expects (``sent``,
   ``failed``, back to ``pending``...); False when someone else moved it first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from keepdown.errors import NotFound
from keepdown.events import Event
from keepdown.notices.model import Delivery, DeliveryKind, DeliveryState, Notice
from keepdown.storage.engine import storage_errors
from keepdown.storage.notice_rows import DELIVERY_QUERY, delivery_of, emit
from keepdown.storage.tables_notices import notice_deliveries, notices

__all__ = ["SqlOutbox", "settle_in"]

_UNSETTLED = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.UNCERTAIN,
    DeliveryState.MANUAL,
)


def settle_in(
    conn: Connection, delivery_id: int, expected: DeliveryState, values: dict[str, Any]
) -> bool:
    """Move a delivery out of ``expected`` within the caller's transaction."""
    d = notice_deliveries.c
    values = {k: (v.value if isinstance(v, DeliveryState) else v) for k, v in values.items()}
    changed = conn.execute(
        update(notice_deliveries)
        .where(d.id == delivery_id, d.state == expected.value)
        .values(**values)
    ).rowcount
    return bool(changed)


def _busy(conn: Connection, notice_id: int, kind: DeliveryKind) -> bool:
    """One of this kind is on its way (or, for the first notice, was ever sent)."""
    d = notice_deliveries.c
    busy = [s.value for s in _UNSETTLED]
    if kind is DeliveryKind.NOTICE:
        busy.append(DeliveryState.SENT.value)
    found = conn.execute(
        select(d.id).where(d.notice_id == notice_id, d.kind == kind.value, d.state.in_(busy))
    ).first()
    return found is not None


def _failed_there(
    conn: Connection, notice_id: int, kind: DeliveryKind, channel: str, recipients: Sequence[str]
) -> bool:
    """The last settled delivery of this kind failed for good, to the same channel and
    recipients: planning it again would only fail again."""
    d = notice_deliveries.c
    settled = (DeliveryState.SENT.value, DeliveryState.FAILED.value)
    last = conn.execute(
        select(d.state, d.channel, d.recipients)
        .where(d.notice_id == notice_id, d.kind == kind.value, d.state.in_(settled))
        .order_by(d.id.desc())
        .limit(1)
    ).first()
    return (
        last is not None
        and last.state == DeliveryState.FAILED.value
        and last.channel == channel
        and list(last.recipients or ()) == list(recipients)
    )


def _by_key(conn: Connection, message_key: str) -> Delivery | None:
    row = conn.execute(DELIVERY_QUERY.where(notice_deliveries.c.message_key == message_key)).first()
    return delivery_of(row) if row is not None else None


class SqlOutbox:
    """The outbox half of :class:`~keepdown.storage.notice_store.SqlNoticeStore`."""

    engine: Engine

    def _load(self, conn: Connection, where: Any, *, lock: bool = False) -> Notice | None:
        raise NotImplementedError  # provided by SqlNoticeStore

    def enqueue(
        self,
        notice_id: int,
        kind: DeliveryKind,
        channel: str,
        recipients: Sequence[str],
        location_ids: Sequence[int],
        message_key: str,
        subject: str,
        body: str,
        now: datetime,
        *,
        state: DeliveryState = DeliveryState.PENDING,
        still_due: Callable[[Notice], bool] | None = None,
        despite_failure: bool = False,
        events: Callable[[Notice, Delivery], Sequence[Event]] | None = None,
    ) -> Delivery | None:
        """Record the intent to deliver (module docstring, step 1). ``despite_failure``: an
        analyst asked, so a permanent failure to this contact does not stop it; ``events``
        are written with the new row, in its transaction."""
        row = {
            "notice_id": notice_id,
            "kind": kind.value,
            "channel": channel,
            "recipients": list(recipients),
            "location_ids": [int(i) for i in location_ids],
            "message_key": message_key,
            "subject": subject,
            "body": body,
            "state": state.value,
            "created_at": now,
        }
        with storage_errors("recording a delivery"), self.engine.begin() as conn:
            notice = self._load(conn, notices.c.id == notice_id, lock=True)
            if notice is None:
                raise NotFound(f"no notice with id {notice_id}")
            asked_before = _by_key(conn, message_key)
            if asked_before is not None:
                return asked_before
            if _busy(conn, notice_id, kind) or (still_due is not None and not still_due(notice)):
                return None
            if not despite_failure and _failed_there(conn, notice_id, kind, channel, recipients):
                return None
            conn.execute(insert(notice_deliveries).values(**row))
            found = _by_key(conn, message_key)
            assert found is not None
            if events is not None:
                emit(conn, events(notice, found))
        return found

    def deliveries(
        self, *, notice_id: int | None = None, states: Sequence[str] | None = None
    ) -> list[Delivery]:
        query = DELIVERY_QUERY.order_by(notice_deliveries.c.id)
        if notice_id is not None:
            query = query.where(notice_deliveries.c.notice_id == notice_id)
        if states is not None:
            query = query.where(notice_deliveries.c.state.in_(list(states)))
        with storage_errors("listing deliveries"), self.engine.connect() as conn:
            return [delivery_of(r) for r in conn.execute(query)]

    def get_delivery(self, delivery_id: int) -> Delivery:
        with storage_errors("reading a delivery"), self.engine.connect() as conn:
            row = conn.execute(DELIVERY_QUERY.where(notice_deliveries.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"no delivery with id {delivery_id}", delivery_id=delivery_id)
        return delivery_of(row)

    def claim(
        self, now: datetime, lease_seconds: float, *, delivery_id: int | None = None
    ) -> Delivery | None:
        """Take the oldest due pending delivery, or the one named (module docstring, step 2),
        before any byte goes out."""
        d = notice_deliveries.c
        due = and_(
            d.state == DeliveryState.PENDING.value,
            or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now),
        )
        if delivery_id is not None:
            due = and_(due, d.id == delivery_id)
        with storage_errors("claiming a delivery"), self.engine.begin() as conn:
            for (candidate,) in conn.execute(select(d.id).where(due).order_by(d.id).limit(5)):
                taken = conn.execute(
                    update(notice_deliveries)
                    .where(d.id == candidate, d.state == DeliveryState.PENDING.value)
                    .values(
                        state=DeliveryState.SENDING.value,
                        attempts=d.attempts + 1,
                        claimed_at=now,
                        lease_expires=now + timedelta(seconds=lease_seconds),
                    )
                ).rowcount
                if taken:
                    row = conn.execute(DELIVERY_QUERY.where(d.id == candidate)).first()
                    assert row is not None
                    return delivery_of(row)
        return None

    def settle(self, delivery_id: int, expected: DeliveryState, values: dict[str, Any]) -> bool:
        """Move a delivery out of ``expected`` (False if it was no longer there)."""
        with storage_errors("settling a delivery"), self.engine.begin() as conn:
            return settle_in(conn, delivery_id, expected, values)

    def expired_claims(self, now: datetime) -> list[Delivery]:
        """Deliveries still ``sending`` after their lease: their sender was interrupted."""
        d = notice_deliveries.c
        query = DELIVERY_QUERY.where(
            d.state == DeliveryState.SENDING.value, d.lease_expires < now
        ).order_by(d.id)
        with storage_errors("finding interrupted deliveries"), self.engine.connect() as conn:
            return [delivery_of(r) for r in conn.execute(query)]
