"""The federation outbox and inbox, and referrals with their timelines, on SQL.

Implements :class:`keepdown.federation.referrals.ReferralStore` and the receiver's
:class:`keepdown.federation.messages.SeenStore`. Every step that must happen once is one
transaction: planning a message (its sequence number, its envelope, the referral row),
accepting a message (its inbox row with what it does), settling a delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import Conflict
from keepdown.federation.referrals import OutboxMessage, ReferralRecord
from keepdown.federation.wire import Refused
from keepdown.storage.engine import inserted_id, storage_errors
from keepdown.storage.tables_federation import (
    federation_inbox,
    federation_outbox,
    peers,
    referral_events,
    referrals,
)

__all__ = ["SqlReferralStore"]

_ATTEMPTS = 5  # a plan that loses the race for a sequence number tries again


class SqlReferralStore:
    """Outbox, inbox and referrals (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- the outbox ----------------------------------------------------------------------

    def plan(
        self,
        peer_id: int,
        stream: str,
        dedupe: str,
        build: Callable[[int], Mapping[str, Any]],
        now: datetime,
        *,
        referral: Mapping[str, Any] | None = None,
    ) -> bool:
        o = federation_outbox.c
        for _ in range(_ATTEMPTS):
            try:
                with storage_errors("planning a federation message"), self.engine.begin() as conn:
                    if conn.execute(select(o.id).where(o.dedupe == dedupe)).first():
                        return False
                    seq = 1 + int(
                        conn.execute(
                            select(func.coalesce(func.max(o.seq), 0)).where(
                                o.peer_id == peer_id, o.stream == stream
                            )
                        ).scalar_one()
                    )
                    conn.execute(
                        insert(federation_outbox).values(
                            peer_id=peer_id,
                            stream=stream,
                            seq=seq,
                            dedupe=dedupe,
                            envelope=dict(build(seq)),
                            state="pending",
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                    if referral is not None:
                        conn.execute(
                            insert(referrals).values(
                                direction="out",
                                peer_id=peer_id,
                                state="planned",
                                created_at=now,
                                updated_at=now,
                                **referral,
                            )
                        )
                    return True
            except IntegrityError:
                continue  # another planner took the sequence number (or the dedupe key)
        raise Conflict(f"could not plan {dedupe}: the outbox is busy")

    def claim(self, now: datetime, owner: str, until: datetime) -> OutboxMessage | None:
        o = federation_outbox.c
        due = or_(
            and_(o.state == "pending", o.next_attempt_at <= now),
            and_(o.state == "sending", o.lease_expires < now),
        )
        with storage_errors("claiming a federation message"), self.engine.begin() as conn:
            rows = conn.execute(select(federation_outbox).where(due).order_by(o.id).limit(50))
            for row in rows.mappings().all():
                if self._earlier_unsent(conn, dict(row)):
                    continue
                taken = conn.execute(
                    update(federation_outbox)
                    .where(o.id == row["id"], due)
                    .values(state="sending", lease_owner=owner, lease_expires=until)
                )
                if taken.rowcount:
                    return OutboxMessage(
                        id=row["id"],
                        peer_id=row["peer_id"],
                        stream=row["stream"],
                        seq=row["seq"],
                        dedupe=row["dedupe"],
                        envelope=row["envelope"],
                        attempts=row["attempts"],
                    )
        return None

    @staticmethod
    def _earlier_unsent(conn: Connection, row: Mapping[str, Any]) -> bool:
        o = federation_outbox.c
        earlier = select(o.id).where(
            o.peer_id == row["peer_id"],
            o.stream == row["stream"],
            o.seq < row["seq"],
            o.state != "sent",
        )
        return conn.execute(earlier.limit(1)).first() is not None

    def settle(
        self,
        message: OutboxMessage,
        owner: str,
        now: datetime,
        *,
        error: str = "",
        retry_at: datetime | None = None,
        failed: bool = False,
    ) -> None:
        o = federation_outbox.c
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires": None,
            "attempts": o.attempts + 1,
            "last_error": error[:2000],
        }
        if not error:
            values.update(state="sent", sent_at=now)
        elif failed or retry_at is None:
            values.update(state="failed")
        else:
            values.update(state="pending", next_attempt_at=retry_at)
        with storage_errors("settling a federation message"), self.engine.begin() as conn:
            conn.execute(
                update(federation_outbox)
                .where(o.id == message.id, o.lease_owner == owner, o.state == "sending")
                .values(**values)
            )
            if not error and message.stream == "referral":
                conn.execute(
                    update(referrals)
                    .where(
                        referrals.c.direction == "out",
                        referrals.c.peer_id == message.peer_id,
                        referrals.c.reference == _reference(message.envelope),
                    )
                    .values(state="sent", updated_at=now)
                )

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox row, oldest first (operators and tests)."""
        with storage_errors("reading the federation outbox"), self.engine.connect() as conn:
            rows = conn.execute(select(federation_outbox).order_by(federation_outbox.c.id))
            return [dict(r) for r in rows.mappings()]

    # --- the inbox -----------------------------------------------------------------------

    def seen(self, sender: str, stream: str, seq: int) -> str | None:
        i = federation_inbox.c
        query = (
            select(i.digest)
            .join(peers, peers.c.id == i.peer_id)
            .where(peers.c.name == sender, i.stream == stream, i.seq == seq)
        )
        with storage_errors("reading the federation inbox"), self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else str(found)

    def accept_referral(
        self, peer_id: int, seq: int, digest: str, referral: Mapping[str, Any], now: datetime
    ) -> int:
        """Store an accepted referral with its inbox row; Refused(replayed) if either exists."""
        try:
            with storage_errors("storing a referral"), self.engine.begin() as conn:
                self._inbox(conn, peer_id, "referral", seq, digest, now)
                done = conn.execute(
                    insert(referrals).values(
                        direction="in",
                        peer_id=peer_id,
                        state="new",
                        created_at=now,
                        updated_at=now,
                        **referral,
                    )
                )
                return inserted_id(done)
        except IntegrityError:
            raise Refused("replayed", f"referral {seq} was already accepted") from None

    def accept_status(
        self,
        peer_id: int,
        seq: int,
        digest: str,
        reference: str,
        status: str,
        at: datetime,
        reason: str,
        now: datetime,
    ) -> bool:
        """Store an accepted status with its inbox row (False: no such referral of ours)."""
        try:
            with storage_errors("storing a status"), self.engine.begin() as conn:
                self._inbox(conn, peer_id, "status", seq, digest, now)
                r = referrals.c
                found = conn.execute(
                    select(r.id).where(
                        r.direction == "out", r.peer_id == peer_id, r.reference == reference
                    )
                ).scalar()
                if found is None:
                    return False
                conn.execute(
                    insert(referral_events).values(
                        referral_id=found, status=status, at=at, reason=reason, recorded_at=now
                    )
                )
                conn.execute(update(referrals).where(r.id == found).values(state=status))
                return True
        except IntegrityError:
            raise Refused("replayed", f"status {seq} was already accepted") from None

    @staticmethod
    def _inbox(
        conn: Connection, peer_id: int, stream: str, seq: int, digest: str, now: datetime
    ) -> None:
        conn.execute(
            insert(federation_inbox).values(
                peer_id=peer_id, stream=stream, seq=seq, digest=digest, accepted_at=now
            )
        )

    # --- referrals -----------------------------------------------------------------------

    def referral(self, direction: str, peer_id: int, reference: str) -> ReferralRecord | None:
        r = referrals.c
        found = self._referrals(
            and_(r.direction == direction, r.peer_id == peer_id, r.reference == reference)
        )
        return found[0] if found else None

    def referrals(self, *, direction: str | None = None) -> list[ReferralRecord]:
        return self._referrals(None if direction is None else referrals.c.direction == direction)

    def _referrals(self, where: Any) -> list[ReferralRecord]:
        r = referrals.c
        query = select(referrals, peers.c.name.label("peer")).join(peers, peers.c.id == r.peer_id)
        if where is not None:
            query = query.where(where)
        with storage_errors("reading referrals"), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(r.id)).mappings().all()
            e = referral_events.c
            events = conn.execute(
                select(e.referral_id, e.status, e.at, e.reason).order_by(e.at, e.id)
            ).all()
        timeline: dict[int, list[tuple[str, datetime, str]]] = {}
        for referral_id, status, at, reason in events:
            timeline.setdefault(referral_id, []).append((status, at, reason))
        return [
            ReferralRecord(
                id=row["id"],
                direction=row["direction"],
                peer=row["peer"],
                peer_id=row["peer_id"],
                reference=row["reference"],
                local_ref=row["local_ref"],
                country=row["country"],
                body=row["body"],
                state=row["state"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                timeline=tuple(timeline.get(row["id"], [])),
            )
            for row in rows
        ]

    def update_referral(self, referral_id: int, now: datetime, **values: Any) -> None:
        with storage_errors("changing a referral"), self.engine.begin() as conn:
            conn.execute(
                update(referrals)
                .where(referrals.c.id == referral_id)
                .values(updated_at=now, **values)
            )

    def add_status(
        self, referral_id: int, status: str, at: datetime, reason: str, now: datetime
    ) -> bool:
        try:
            with storage_errors("recording a referral status"), self.engine.begin() as conn:
                conn.execute(
                    insert(referral_events).values(
                        referral_id=referral_id,
                        status=status,
                        at=at,
                        reason=reason,
                        recorded_at=now,
                    )
                )
                conn.execute(
                    update(referrals)
                    .where(referrals.c.id == referral_id)
                    .values(state=status, updated_at=now)
                )
        except IntegrityError:
            return False
        return True


def _reference(envelope: Mapping[str, Any]) -> str:
    import json

    return str(json.loads(envelope["body"]).get("reference", ""))


def sighting_facts(engine: Engine, sighting_id: int) -> dict[str, Any] | None:
    """What a referral names of one sighting: its URLs, hashes and when it was seen."""
    from keepdown.storage.tables_crawl import sightings

    s = sightings.c
    query = select(s.media_url, s.page_url, s.sha256, s.md5, s.pdq, s.seen_at, s.server_ip)
    with storage_errors("reading a sighting"), engine.connect() as conn:
        row = conn.execute(query.where(s.id == sighting_id)).mappings().first()
    return None if row is None else dict(row)
