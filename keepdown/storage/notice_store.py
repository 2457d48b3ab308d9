"""Notices on SQL: implements :class:`keepdown.notices.model.NoticeStore`.

Reads the crawler's ``sightings`` (confirmed ones no notice accounts for yet) and writes the
notice tables of :mod:`keepdown.storage.tables_notices`. Every change of a notice goes through
:meth:`SqlNoticeStore.mutate`: in one transaction it locks the notice row (PostgreSQL; SQLite
has one writer at a time), runs the caller's pure decision on the current rows, writes the new
location statuses, the notice's derived state, the outbox row's new state, the re-check rows,
any notice the decision drafts (a reappearance) and the lifecycle events. A crash leaves
either all of it or none of it; a second process deciding on the same notice waits for the
lock and decides on what the first one wrote.

A sighting is accounted for once (``notice_sightings`` is keyed by the sighting): when two
processes draft notices from the same sightings, the second one's insert fails, its whole
notice is rolled back, and :meth:`create_notice` answers None. The outbox half of the store
is :class:`keepdown.storage.outbox_store.SqlOutbox`.

**One open location per place and provider.** A new location is created only where its
place (media URL and archive entry) is not open at its provider, asked again in the creating
transaction under the provider's row lock (:meth:`_lock_provider`), which drafting and the
re-check tracker both take first: a crawl's sighting and a watch re-check that find the same
re-upload, in two processes at once, make one location. A new location at a place ends the
watch of the removed locations there (:meth:`_end_watches`); a watch re-check's draft is
dropped when a newer location holds its place already.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from keepdown.errors import NotFound
from keepdown.notices.lifecycle import CLOSED, LocationState, NoticeState, notice_state
from keepdown.notices.model import (
    Candidate,
    DeliveryState,
    Location,
    Mutation,
    NewLocation,
    Notice,
    NoticeDraft,
)
from keepdown.storage.engine import inserted_id, storage_errors
from keepdown.storage.notice_rows import NOTICE_QUERY, emit, location_of, status_values, url_key
from keepdown.storage.outbox_store import SqlOutbox, settle_in
from keepdown.storage.tables_banks import bank_entries, banks
from keepdown.storage.tables_crawl import sightings
from keepdown.storage.tables_notices import (
    notice_checks,
    notice_locations,
    notice_sightings,
    notices,
)
from keepdown.storage.tables_providers import providers
from keepdown.storage.tables_review import review_decisions

__all__ = ["SqlNoticeStore", "url_key"]

_CLOSED_NOTICE = (NoticeState.REMOVED.value, NoticeState.REVIEWED.value)
_CLOSED_LOCATION = [state.value for state in CLOSED]


def _candidate(r: Row[Any]) -> Candidate:
    return Candidate(
        sighting_id=r.id,
        media_url=r.media_url,
        archive_member=r.archive_member,
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


class SqlNoticeStore(SqlOutbox):
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
            provider_country=row.provider_country,
            state=NoticeState(row.state),
            language=row.language,
            reappearance=bool(row.reappearance),
            created_at=row.created_at,
            first_sent_at=row.first_sent_at,
            last_sent_at=row.last_sent_at,
            acknowledged_at=row.acknowledged_at,
            escalated_at=row.escalated_at,
            closed_at=row.closed_at,
            locations=tuple(location_of(r) for r in locs),
        )

    def _load(self, conn: Connection, where: Any, *, lock: bool = False) -> Notice | None:
        query = NOTICE_QUERY.where(where)
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

    def list_notices(
        self,
        *,
        provider_ids: Sequence[int] | None = None,
        states: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Notice]:
        query = NOTICE_QUERY.order_by(notices.c.id.desc()).limit(limit).offset(offset)
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
        query = NOTICE_QUERY.where(
            or_(notices.c.state.not_in(_CLOSED_NOTICE), notices.c.id.in_(watched))
        ).order_by(notices.c.id)
        with storage_errors("finding due notices"), self.engine.connect() as conn:
            return [self._notice(conn, row) for row in conn.execute(query).all()]

    def candidates(self, *, limit: int = 10_000) -> list[Candidate]:
        """Confirmed sightings not yet accounted for by any notice, oldest first.

        The category a notice cites is the one the analyst chose when confirming the match
        (``review_decisions``), else the bank entry's, else the bank's."""
        s = sightings.c
        consumed = select(notice_sightings.c.sighting_id)
        d = review_decisions.c
        chosen = (
            select(d.category)
            .where(d.sighting_id == s.id, d.decision == "confirm", d.category.is_not(None))
            .order_by(d.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(
                sightings,
                func.coalesce(chosen, bank_entries.c.category, banks.c.category).label("category"),
            )
            .outerjoin(bank_entries, bank_entries.c.id == s.entry_id)
            .outerjoin(banks, banks.c.id == bank_entries.c.bank_id)
            .where(s.state == "confirmed", s.id.not_in(consumed))
            .order_by(s.seen_at, s.id)
            .limit(limit)
        )
        with storage_errors("reading confirmed sightings"), self.engine.connect() as conn:
            return [_candidate(r) for r in conn.execute(query)]

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
            return [location_of(r) for r in conn.execute(query)]

    # --- creating ------------------------------------------------------------------------

    def create_notice(self, draft: NoticeDraft) -> Notice | None:
        """A drafted notice with its locations (and their sightings linked), in one go; None
        when another process accounted for one of its sightings first, or opened one of its
        places meanwhile (module docstring)."""
        try:
            with storage_errors("creating a notice"), self.engine.begin() as conn:
                self._lock_provider(conn, draft.provider_id)
                if any(self._taken(conn, draft.provider_id, new) for new in draft.locations):
                    return None
                return self._create(conn, draft)
        except IntegrityError:
            return None

    # --- one open location per place (module docstring) ----------------------------------

    @staticmethod
    def _lock_provider(conn: Connection, provider_id: int) -> None:
        """Serialise the creation of locations at one provider (PostgreSQL; SQLite has one
        writer at a time already)."""
        if conn.dialect.name == "postgresql":
            conn.execute(
                select(providers.c.id).where(providers.c.id == provider_id).with_for_update()
            )

    @staticmethod
    def _at_place(provider_id: int, new: NewLocation) -> Any:
        c = notice_locations.c
        return (
            (c.provider_id == provider_id)
            & (c.url_key == url_key(new.media_url))
            & (c.archive_member == new.archive_member)
        )

    def _taken(self, conn: Connection, provider_id: int, new: NewLocation) -> bool:
        """Is ``new``'s place open at the provider (or, for a watch re-check's draft, held
        by a location newer than the one watched)?"""
        c = notice_locations.c
        here = self._at_place(provider_id, new)
        blocking: ColumnElement[bool] = c.state.not_in(_CLOSED_LOCATION)
        if new.detection == "recheck" and new.reappearance_of is not None:
            blocking = blocking | (c.id > new.reappearance_of)
        found = conn.execute(select(c.id).where(here & blocking).limit(1)).first()
        return found is not None

    def _end_watches(self, conn: Connection, provider_id: int, new: NewLocation) -> None:
        """The removed locations at ``new``'s place are no longer watched: it takes over."""
        c = notice_locations.c
        conn.execute(
            update(notice_locations)
            .where(
                self._at_place(provider_id, new),
                c.state == LocationState.REMOVED.value,
                c.next_check_at.is_not(None),
            )
            .values(next_check_at=None)
        )

    def _create(self, conn: Connection, draft: NoticeDraft) -> Notice:
        now = draft.at
        notice_id = inserted_id(
            conn.execute(
                insert(notices).values(
                    reference=f"tmp-{secrets.token_hex(8)}",
                    provider_id=draft.provider_id,
                    state=NoticeState.DRAFTED.value,
                    language=draft.language,
                    reappearance=draft.reappearance,
                    created_at=now,
                )
            )
        )
        conn.execute(
            update(notices)
            .where(notices.c.id == notice_id)
            .values(reference=f"KDN-{now.year}-{int(notice_id):06d}")
        )
        for new in draft.locations:
            self._end_watches(conn, draft.provider_id, new)
            self._insert_location(conn, int(notice_id), draft.provider_id, new, now)
        notice = self._load(conn, notices.c.id == notice_id)
        assert notice is not None
        if draft.events is not None:
            emit(conn, draft.events(notice))
        return notice

    def _insert_location(
        self, conn: Connection, notice_id: int, provider_id: int, new: NewLocation, now: datetime
    ) -> int:
        location_id = inserted_id(
            conn.execute(
                insert(notice_locations).values(
                    notice_id=notice_id,
                    provider_id=provider_id,
                    sighting_id=new.sighting_ids[0] if new.sighting_ids else None,
                    media_url=new.media_url,
                    archive_member=new.archive_member,
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
                    last_seen_at=new.detected_at if new.sighting_ids else None,
                )
            )
        )
        for sighting_id in new.sighting_ids:
            conn.execute(
                insert(notice_sightings).values(
                    sighting_id=sighting_id, location_id=location_id, linked_at=now
                )
            )
        return int(location_id)

    def link_sighting(
        self, sighting_id: int, location_id: int, now: datetime, *, seen_at: datetime | None = None
    ) -> None:
        """Account for a sighting with an existing location (the same place seen again);
        ``seen_at`` moves the location's ``last_seen_at`` forward."""
        c = notice_locations.c
        try:
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
                if seen_at is not None:
                    later = (c.last_seen_at.is_(None)) | (c.last_seen_at < seen_at)
                    conn.execute(
                        update(notice_locations)
                        .where(c.id == location_id, later)
                        .values(last_seen_at=seen_at)
                    )
        except IntegrityError:
            pass  # another process linked it at the same moment

    # --- changing ------------------------------------------------------------------------

    def mutate(
        self,
        notice_id: int,
        decide: Callable[[Notice], Mutation | None],
        *,
        delivery: tuple[int, DeliveryState, dict[str, Any]] | None = None,
        lock_provider: bool = False,
    ) -> Notice | None:
        """Apply ``decide``'s mutation atomically (module docstring). None: nothing changed
        (``decide`` said so, or the delivery was no longer in its expected state). Drafts
        whose place is taken are not created (``change.created`` lists those that were)."""
        with storage_errors("updating a notice"), self.engine.begin() as conn:
            if lock_provider:
                provider_id = conn.execute(
                    select(notices.c.provider_id).where(notices.c.id == notice_id)
                ).scalar()
                if provider_id is not None:
                    self._lock_provider(conn, int(provider_id))
            notice = self._load(conn, notices.c.id == notice_id, lock=True)
            if notice is None:
                raise NotFound(f"no notice with id {notice_id}")
            if delivery is not None and not settle_in(conn, *delivery):
                return None
            change = decide(notice)
            if change is None:
                return notice if delivery is not None else None
            self._apply(conn, notice, change)
            for check in change.check_rows:
                conn.execute(insert(notice_checks).values(**check))
            emit(conn, change.events)
            change.created = [
                self._create(conn, draft)
                for draft in change.drafts
                if not any(self._taken(conn, draft.provider_id, n) for n in draft.locations)
            ]
            return self._load(conn, notices.c.id == notice_id)

    def _apply(self, conn: Connection, notice: Notice, change: Mutation) -> None:
        for location_id in set(change.statuses) | set(change.location_fields):
            values = dict(change.location_fields.get(location_id, {}))
            if location_id in change.statuses:
                values.update(status_values(change.statuses[location_id]))
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
            ends = [s.removed_at or s.reviewed_at for s in statuses]
            values["closed_at"] = max((end for end in ends if end is not None), default=None)
        conn.execute(update(notices).where(notices.c.id == notice.id).values(**values))
