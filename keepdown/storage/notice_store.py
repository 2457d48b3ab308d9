"""Notices on SQL: implements :class:`keepdown.notices.model.NoticeStore`.

Reads the crawler's ``sightings`` (confirmed ones no notice accounts for yet) and writes the
notice tables of :mod:`keepdown.storage.tables_notices`. Every change of a notice goes through
:meth:`SqlNoticeStore.mutate`: in one transaction it locks the notice row (PostgreSQL; SQLite
has one writer at a time), runs the caller's pure decision on the current rows, writes the new
location statuses, the notice's derived state, the outbox row's new state, the re-check rows
and the lifecycle events. A crash leaves either all of it or none of it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from keepdown.errors import NotFound
from keepdown.events import Event
from keepdown.notices.lifecycle import (
    CLOSED,
    CheckResult,
    LocationState,
    LocationStatus,
    NoticeState,
    notice_state,
)
from keepdown.notices.model import (
    Candidate,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Location,
    Mutation,
    NewLocation,
    Notice,
)
from keepdown.storage.engine import storage_errors
from keepdown.storage.schema import bank_entries, banks, events
from keepdown.storage.tables_crawl import sightings
from keepdown.storage.tables_notices import (
    notice_checks,
    notice_deliveries,
    notice_locations,
    notice_sightings,
    notices,
)
from keepdown.storage.tables_providers import providers

__all__ = ["SqlNoticeStore", "url_key"]

_STATUS_FIELDS = [f.name for f in fields(LocationStatus)]
_UNSETTLED = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.UNCERTAIN,
    DeliveryState.MANUAL,
)
_CLOSED_NOTICE = (NoticeState.REMOVED.value, NoticeState.REVIEWED.value)


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _status(row: Row[Any]) -> LocationStatus:
    values = {name: getattr(row, name) for name in _STATUS_FIELDS}
    values["state"] = LocationState(values["state"])
    if values["last_check_result"] is not None:
        values["last_check_result"] = CheckResult(values["last_check_result"])
    return LocationStatus(**values)


def _status_values(s: LocationStatus) -> dict[str, Any]:
    values = {name: getattr(s, name) for name in _STATUS_FIELDS}
    values["state"] = s.state.value
    values["last_check_result"] = s.last_check_result.value if s.last_check_result else None
    return values


def _location(row: Row[Any]) -> Location:
    return Location(
        id=row.id,
        notice_id=row.notice_id,
        provider_id=row.provider_id,
        sighting_id=row.sighting_id,
        media_url=row.media_url,
        page_url=row.page_url,
        host=row.host,
        sha256=row.sha256,
        md5=row.md5,
        pdq=row.pdq,
        bank=row.bank,
        entry_id=row.entry_id,
        category=row.category,
        detection=row.detection,
        status=_status(row),
        dispute_reason=row.dispute_reason,
        reappearance_of=row.reappearance_of,
        reappearance_where=row.reappearance_where,
    )


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        notice_id=row.notice_id,
        reference=row.reference,
        kind=DeliveryKind(row.kind),
        channel=row.channel,
        recipients=tuple(row.recipients or ()),
        location_ids=tuple(int(i) for i in row.location_ids or ()),
        message_key=row.message_key,
        subject=row.subject,
        body=row.body,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        claimed_at=row.claimed_at,
        handover_at=row.handover_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


_NOTICE_QUERY = select(notices, providers.c.name.label("provider_name")).join(
    providers, providers.c.id == notices.c.provider_id
)
_DELIVERY_QUERY = select(notice_deliveries, notices.c.reference).join(
    notices, notices.c.id == notice_deliveries.c.notice_id
)


def _emit(conn: Connection, batch: Sequence[Event]) -> None:
    for event in batch:
        conn.execute(
            insert(events), {"kind": event.kind, "at": event.at, "payload": event.to_dict()}
        )


class SqlNoticeStore:
    """Notices, locations, the outbox and re-checks in the keepdown database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reading -------------------------------------------------------------------------

    def _notice(self, conn: Connection, row: Row[Any]) -> Notice:
        locs = conn.execute(
            select(notice_locations)
            .where(notice_locations.c.notice_id == row.id)
            .order_by(notice_locations.c.id)
        )
        return Notice(
            id=row.id,
            reference=row.reference,
            provider_id=row.provider_id,
            provider=row.provider_name,
            state=NoticeState(row.state),
            language=row.language,
            reappearance=bool(row.reappearance),
            created_at=row.created_at,
            first_sent_at=row.first_sent_at,
            last_sent_at=row.last_sent_at,
            acknowledged_at=row.acknowledged_at,
            escalated_at=row.escalated_at,
            closed_at=row.closed_at,
            locations=tuple(_location(r) for r in locs),
        )

    def _load(self, conn: Connection, where: Any, *, lock: bool = False) -> Notice | None:
        query = _NOTICE_QUERY.where(where)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update(of=notices)
        row = conn.execute(query).first()
        return self._notice(conn, row) if row is not None else None

    def get(self, reference: str) -> Notice:
        with storage_errors("reading a notice"), self.engine.connect() as conn:
            found = self._load(conn, notices.c.reference == reference)
        if found is None:
            raise NotFound(f"no notice {reference!r}", reference=reference)
        return found

    def get_by_id(self, notice_id: int) -> Notice:
        with storage_errors("reading a notice"), self.engine.connect() as conn:
            found = self._load(conn, notices.c.id == notice_id)
        if found is None:
            raise NotFound(f"no notice with id {notice_id}")
        return found

    def list(
        self,
        *,
        provider_ids: Sequence[int] | None = None,
        states: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Notice]:
        query = _NOTICE_QUERY.order_by(notices.c.id.desc()).limit(limit).offset(offset)
        if provider_ids is not None:
            query = query.where(notices.c.provider_id.in_(list(provider_ids)))
        if states is not None:
            query = query.where(notices.c.state.in_(list(states)))
        with storage_errors("listing notices"), self.engine.connect() as conn:
            return [self._notice(conn, row) for row in conn.execute(query).all()]

    def notices_with_work(self, now: datetime) -> list[Notice]:
        """Notices not closed, and closed ones with a removed location due a watch check."""
        watched = select(notice_locations.c.notice_id).where(
            notice_locations.c.state == LocationState.REMOVED.value,
            notice_locations.c.next_check_at <= now,
        )
        query = _NOTICE_QUERY.where(
            or_(notices.c.state.not_in(_CLOSED_NOTICE), notices.c.id.in_(watched))
        ).order_by(notices.c.id)
        with storage_errors("finding due notices"), self.engine.connect() as conn:
            return [self._notice(conn, row) for row in conn.execute(query).all()]

    def candidates(self, *, limit: int = 10_000) -> list[Candidate]:
        """Confirmed sightings not yet accounted for by any notice, oldest first."""
        s = sightings.c
        consumed = select(notice_sightings.c.sighting_id)
        query = (
            select(
                sightings,
                func.coalesce(bank_entries.c.category, banks.c.category).label("category"),
            )
            .outerjoin(bank_entries, bank_entries.c.id == s.entry_id)
            .outerjoin(banks, banks.c.id == bank_entries.c.bank_id)
            .where(s.state == "confirmed", s.id.not_in(consumed))
            .order_by(s.seen_at, s.id)
            .limit(limit)
        )
        with storage_errors("reading confirmed sightings"), self.engine.connect() as conn:
            return [
                Candidate(
                    sighting_id=r.id,
                    media_url=r.media_url,
                    page_url=r.page_url,
                    final_url=r.final_url,
                    sha256=r.sha256,
                    md5=r.md5,
                    pdq=r.pdq,
                    bank=r.bank,
                    entry_id=r.entry_id,
                    category=r.category,
                    seen_at=r.seen_at,
                    server_ip=r.server_ip,
                    provider_id=r.provider_id,
                    attributed_provider=r.provider,
                    asn=r.asn,
                    network=r.network,
                    country=r.country,
                    abuse_email=r.abuse_email,
                )
                for r in conn.execute(query)
            ]

    def similar_locations(
        self, *, media_urls: Sequence[str], sha256s: Sequence[str], entry_ids: Sequence[int]
    ) -> list[Location]:
        """Earlier locations with the same URL, the same file or the same bank entry."""
        c = notice_locations.c
        terms = []
        if media_urls:
            terms.append(c.url_key.in_(list({url_key(u) for u in media_urls})))
        if sha256s:
            terms.append(c.sha256.in_(list(set(sha256s))))
        if entry_ids:
            terms.append(c.entry_id.in_(list(set(entry_ids))))
        if not terms:
            return []
        query = select(notice_locations).where(or_(*terms)).order_by(c.id)
        with storage_errors("finding earlier locations"), self.engine.connect() as conn:
            return [_location(r) for r in conn.execute(query)]

    # --- creating ------------------------------------------------------------------------

    def create_notice(
        self,
        provider_id: int,
        language: str,
        locations: Sequence[NewLocation],
        now: datetime,
        *,
        reappearance: bool = False,
        events: Callable[[Notice], list[Event]] | None = None,
    ) -> Notice:
        """A drafted notice with its locations (and their sightings linked), in one go."""
        with storage_errors("creating a notice"), self.engine.begin() as conn:
            notice_id = conn.execute(
                insert(notices).values(
                    reference=f"tmp-{secrets.token_hex(8)}",
                    provider_id=provider_id,
                    state=NoticeState.DRAFTED.value,
                    language=language,
                    reappearance=reappearance,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(
                update(notices)
                .where(notices.c.id == notice_id)
                .values(reference=f"KDN-{now.year}-{int(notice_id):06d}")
            )
            for new in locations:
                self._insert_location(conn, int(notice_id), provider_id, new, now)
            notice = self._load(conn, notices.c.id == notice_id)
            assert notice is not None
            if events is not None:
                _emit(conn, events(notice))
        return notice

    def _insert_location(
        self, conn: Connection, notice_id: int, provider_id: int, new: NewLocation, now: datetime
    ) -> int:
        location_id = conn.execute(
            insert(notice_locations).values(
                notice_id=notice_id,
                provider_id=provider_id,
                sighting_id=new.sighting_ids[0] if new.sighting_ids else None,
                media_url=new.media_url,
                page_url=new.page_url,
                url_key=url_key(new.media_url),
                host=new.host[:255],
                sha256=new.sha256,
                md5=new.md5,
                pdq=new.pdq,
                bank=new.bank,
                entry_id=new.entry_id,
                category=new.category,
                detection=new.detection,
                state=LocationState.DRAFTED.value,
                detected_at=new.detected_at,
                reappearance_of=new.reappearance_of,
                reappearance_where=new.reappearance_where,
            )
        ).inserted_primary_key[0]
        for sighting_id in new.sighting_ids:
            conn.execute(
                insert(notice_sightings).values(
                    sighting_id=sighting_id, location_id=location_id, linked_at=now
                )
            )
        return int(location_id)

    def link_sighting(self, sighting_id: int, location_id: int, now: datetime) -> None:
        """Account for a sighting with an existing location (the same URL seen again)."""
        with storage_errors("linking a sighting"), self.engine.begin() as conn:
            known = conn.execute(
                select(notice_sightings.c.sighting_id).where(
                    notice_sightings.c.sighting_id == sighting_id
                )
            ).first()
            if known is None:
                conn.execute(
                    insert(notice_sightings).values(
                        sighting_id=sighting_id, location_id=location_id, linked_at=now
                    )
                )

    # --- changing ------------------------------------------------------------------------

    def mutate(
        self,
        notice_id: int,
        decide: Callable[[Notice], Mutation | None],
        *,
        delivery: tuple[int, DeliveryState, dict[str, Any]] | None = None,
        checks: Sequence[dict[str, Any]] = (),
    ) -> Notice | None:
        """Apply ``decide``'s mutation atomically (module docstring). None: nothing changed
        (``decide`` said so, or the delivery was no longer in its expected state)."""
        with storage_errors("updating a notice"), self.engine.begin() as conn:
            notice = self._load(conn, notices.c.id == notice_id, lock=True)
            if notice is None:
                raise NotFound(f"no notice with id {notice_id}")
            if delivery is not None and not self._settle(conn, *delivery):
                return None
            change = decide(notice)
            if change is None:
                return notice if delivery is not None else None
            self._apply(conn, notice, change)
            for check in checks:
                conn.execute(insert(notice_checks).values(**check))
            _emit(conn, change.events)
            return self._load(conn, notices.c.id == notice_id)

    def _apply(self, conn: Connection, notice: Notice, change: Mutation) -> None:
        for location_id, status in change.statuses.items():
            conn.execute(
                update(notice_locations)
                .where(notice_locations.c.id == location_id)
                .values(**_status_values(status), **change.location_fields.get(location_id, {}))
            )
        for location_id, values in change.location_fields.items():
            if location_id not in change.statuses:
                conn.execute(
                    update(notice_locations)
                    .where(notice_locations.c.id == location_id)
                    .values(**values)
                )
        statuses = [change.statuses.get(loc.id, loc.status) for loc in notice.locations]
        acknowledged = (change.notice.get("acknowledged_at") or notice.acknowledged_at) is not None
        state = notice_state(statuses, acknowledged=acknowledged)
        values = {"state": state.value, **change.notice}
        if all(s.state in CLOSED for s in statuses) and notice.closed_at is None:
            values["closed_at"] = max(
                (s.removed_at or s.reviewed_at for s in statuses if s.removed_at or s.reviewed_at),
                default=None,
            )
        conn.execute(update(notices).where(notices.c.id == notice.id).values(**values))

    # --- the outbox ----------------------------------------------------------------------

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
    ) -> Delivery | None:
        """Record the intent to deliver; None when one of this kind is already on its way
        (or, for the first notice, was ever recorded)."""
        d = notice_deliveries.c
        busy = [s.value for s in _UNSETTLED]
        if kind is DeliveryKind.NOTICE:
            busy += [DeliveryState.SENT.value, DeliveryState.FAILED.value]
        with storage_errors("recording a delivery"), self.engine.begin() as conn:
            if self._load(conn, notices.c.id == notice_id, lock=True) is None:
                raise NotFound(f"no notice with id {notice_id}")
            exists = conn.execute(
                select(d.id).where(
                    d.notice_id == notice_id, d.kind == kind.value, d.state.in_(busy)
                )
            ).first()
            if exists is not None:
                return None
            new_id = conn.execute(
                insert(notice_deliveries).values(
                    notice_id=notice_id,
                    kind=kind.value,
                    channel=channel,
                    recipients=list(recipients),
                    location_ids=[int(i) for i in location_ids],
                    message_key=message_key,
                    subject=subject,
                    body=body,
                    state=state.value,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            row = conn.execute(_DELIVERY_QUERY.where(d.id == new_id)).first()
        assert row is not None
        return _delivery(row)

    def deliveries(
        self, *, notice_id: int | None = None, states: Sequence[str] | None = None
    ) -> list[Delivery]:
        query = _DELIVERY_QUERY.order_by(notice_deliveries.c.id)
        if notice_id is not None:
            query = query.where(notice_deliveries.c.notice_id == notice_id)
        if states is not None:
            query = query.where(notice_deliveries.c.state.in_(list(states)))
        with storage_errors("listing deliveries"), self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def get_delivery(self, delivery_id: int) -> Delivery:
        with storage_errors("reading a delivery"), self.engine.connect() as conn:
            row = conn.execute(_DELIVERY_QUERY.where(notice_deliveries.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"no delivery with id {delivery_id}", delivery_id=delivery_id)
        return _delivery(row)

    def claim(self, now: datetime, lease_seconds: float) -> Delivery | None:
        """Take the oldest due pending delivery: it becomes ``sending`` under a lease, and its
        attempt is counted, before any byte goes out."""
        d = notice_deliveries.c
        due = and_(
            d.state == DeliveryState.PENDING.value,
            or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now),
        )
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
                    row = conn.execute(_DELIVERY_QUERY.where(d.id == candidate)).first()
                    assert row is not None
                    return _delivery(row)
        return None

    def _settle(
        self, conn: Connection, delivery_id: int, expected: DeliveryState, values: dict[str, Any]
    ) -> bool:
        d = notice_deliveries.c
        values = {k: (v.value if isinstance(v, DeliveryState) else v) for k, v in values.items()}
        changed = conn.execute(
            update(notice_deliveries)
            .where(d.id == delivery_id, d.state == expected.value)
            .values(**values)
        ).rowcount
        return bool(changed)

    def settle(self, delivery_id: int, expected: DeliveryState, values: dict[str, Any]) -> bool:
        """Move a delivery out of ``expected`` (False if it was no longer there)."""
        with storage_errors("settling a delivery"), self.engine.begin() as conn:
            return self._settle(conn, delivery_id, expected, values)

    def expired_claims(self, now: datetime) -> list[Delivery]:
        """Deliveries still ``sending`` after their lease: their sender was interrupted."""
        d = notice_deliveries.c
        query = _DELIVERY_QUERY.where(
            d.state == DeliveryState.SENDING.value, d.lease_expires < now
        ).order_by(d.id)
        with storage_errors("finding interrupted deliveries"), self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query)]
