"""The review queue on SQL (:class:`keepdown.review.model.ReviewStore`), and sighting lists.

The crawler writes ``sightings``; this store reads them (column names as in
:mod:`keepdown.storage.tables_crawl`) and keeps the queue's own rows in ``review_items``,
``review_decisions``, ``allow_list`` and ``review_prefs`` (:mod:`~.tables_review`).

- **claim** is a conditional ``UPDATE`` (the row must be undecided and free: never claimed,
  or its claim expired), so two analysts asking at once never get the same item, on SQLite
  (one writer at a time) and on PostgreSQL (the second ``UPDATE`` re-checks the condition
  after the first commits);
- **decide** checks the claim, changes the sighting's state (``confirmed`` / ``rejected``,
  only from ``pending_review``), records the decision and the allow-list entry in one
  transaction: either all of it happens or none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import Conflict, NotFound
from keepdown.review.model import AllowEntry, Decision, Prefs, Queue, ReviewItem, SightingFilter
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_banks import bank_entries, banks
from keepdown.storage.tables_crawl import sightings
from keepdown.storage.tables_review import allow_list, review_decisions, review_items, review_prefs

__all__ = ["SqlReviewStore"]

s, r = sightings.c, review_items.c

_ITEM_QUERY = (
    select(
        sightings,
        banks.c.source.label("bank_source"),
        banks.c.trust.label("bank_trust"),
        bank_entries.c.source_label,
        func.coalesce(bank_entries.c.category, banks.c.category).label("category"),
        func.coalesce(bank_entries.c.maturity, banks.c.maturity).label("maturity"),
        bank_entries.c.source_id.label("entry_source_id"),
        bank_entries.c.added_at.label("entry_added_at"),
        r.queue,
        r.claimed_by,
        r.claim_expires,
        r.revealed_at,
        r.escalated_by,
        r.escalated_at,
        r.escalation_note,
        r.decision,
    )
    .outerjoin(review_items, r.sighting_id == s.id)
    .outerjoin(bank_entries, bank_entries.c.id == s.entry_id)
    .outerjoin(banks, banks.c.name == s.bank)
)


def _item(row: Row[Any]) -> ReviewItem:
    return ReviewItem(
        sighting_id=row.id,
        media_url=row.media_url,
        page_url=row.page_url,
        final_url=row.final_url,
        seen_at=row.seen_at,
        sha256=row.sha256,
        pdq=row.pdq,
        quality=row.quality,
        content_type=row.content_type,
        size=row.size,
        bank=row.bank or "",
        entry_id=row.entry_id,
        signal_type=row.signal_type,
        distance=row.distance,
        variant=row.variant,
        match_type=row.match_type,
        state=row.state,
        provider=row.provider,
        country=row.country or "",
        bank_source=row.bank_source or "",
        bank_trust=row.bank_trust or "",
        source_label=row.source_label,
        category=row.category,
        maturity=row.maturity,
        entry_source_id=row.entry_source_id,
        entry_added_at=row.entry_added_at,
        queue=Queue(row.queue) if row.queue else Queue.MAIN,
        claimed_by=row.claimed_by,
        claim_expires=row.claim_expires,
        revealed_at=row.revealed_at,
        escalated_by=row.escalated_by,
        escalated_at=row.escalated_at,
        escalation_note=row.escalation_note or "",
        decision=Decision(row.decision) if row.decision else None,
    )


def _where(chosen: SightingFilter) -> list[Any]:
    """The SQL conditions of the sightings page's filter."""
    found: list[Any] = []
    if chosen.bank:
        found.append(s.bank == chosen.bank)
    if chosen.provider:
        found.append(s.provider == chosen.provider)
    if chosen.state:
        found.append(s.state == chosen.state)
    if chosen.since is not None:
        found.append(s.seen_at >= chosen.since)
    if chosen.until is not None:
        found.append(s.seen_at < chosen.until)
    if chosen.provider_ids is not None:
        found.append(s.provider_id.in_(list(chosen.provider_ids)))
    return found


class SqlReviewStore:
    """See the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- the queue -----------------------------------------------------------------------

    def enqueue(self, now: datetime) -> int:
        missing = select(s.id).where(
            s.state == "pending_review", ~exists().where(r.sighting_id == s.id)
        )
        added = 0
        with storage_errors("filling the review queue"), self.engine.connect() as conn:
            ids = [row.id for row in conn.execute(missing.order_by(s.id).limit(10_000))]
        for sighting_id in ids:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(review_items).values(
                            sighting_id=sighting_id, queue=Queue.MAIN.value, enqueued_at=now
                        )
                    )
                added += 1
            except IntegrityError:
                continue  # another worker queued it at the same moment
        return added

    def claim(
        self,
        analyst: str,
        queues: tuple[Queue, ...],
        *,
        now: datetime,
        until: datetime,
        skipped_since: datetime,
    ) -> ReviewItem | None:
        open_item = and_(r.decided_at.is_(None), s.state == "pending_review")
        with storage_errors("claiming a review item"), self.engine.connect() as conn:
            mine = conn.execute(
                _ITEM_QUERY.where(open_item, r.claimed_by == analyst, r.claim_expires > now)
                .order_by(r.claimed_at)
                .limit(1)
            ).first()
        if mine is not None:
            return _item(mine)
        skipped = exists().where(
            review_decisions.c.sighting_id == r.sighting_id,
            review_decisions.c.analyst == analyst,
            review_decisions.c.decision == Decision.SKIP.value,
            review_decisions.c.at >= skipped_since,
        )
        free = or_(r.claimed_by.is_(None), r.claim_expires.is_(None), r.claim_expires <= now)
        for queue in queues:
            query = (
                select(r.sighting_id)
                .join(sightings, s.id == r.sighting_id)
                .where(open_item, r.queue == queue.value, free, ~skipped)
                .order_by(s.seen_at, s.id)
                .limit(20)
            )
            with storage_errors("claiming a review item"), self.engine.connect() as conn:
                candidates = [row.sighting_id for row in conn.execute(query)]
            for sighting_id in candidates:
                if self._take(sighting_id, analyst, now, until):
                    return self.get(sighting_id)
        return None

    def _take(self, sighting_id: int, analyst: str, now: datetime, until: datetime) -> bool:
        free = or_(r.claimed_by.is_(None), r.claim_expires.is_(None), r.claim_expires <= now)
        with storage_errors("claiming a review item"), self.engine.begin() as conn:
            changed = conn.execute(
                update(review_items)
                .where(r.sighting_id == sighting_id, r.decided_at.is_(None), free)
                .values(claimed_by=analyst, claimed_at=now, claim_expires=until, revealed_at=None)
            ).rowcount
        return changed == 1

    def get(self, sighting_id: int) -> ReviewItem:
        with storage_errors("reading a review item"), self.engine.connect() as conn:
            row = conn.execute(_ITEM_QUERY.where(s.id == sighting_id)).first()
        if row is None:
            raise NotFound(f"no sighting {sighting_id}", sighting_id=sighting_id)
        return _item(row)

    def _held(self, sighting_id: int, analyst: str, now: datetime) -> Any:
        return and_(
            r.sighting_id == sighting_id,
            r.claimed_by == analyst,
            r.claim_expires > now,
            r.decided_at.is_(None),
        )

    def mark_revealed(self, sighting_id: int, analyst: str, now: datetime) -> bool:
        with storage_errors("recording a reveal"), self.engine.begin() as conn:
            changed = conn.execute(
                update(review_items)
                .where(self._held(sighting_id, analyst, now))
                .values(revealed_at=now)
            ).rowcount
        return changed == 1

    def decide(
        self,
        sighting_id: int,
        analyst: str,
        decision: Decision,
        *,
        now: datetime,
        category: str | None = None,
        note: str = "",
        allow: AllowEntry | None = None,
    ) -> ReviewItem:
        before = self.get(sighting_id)
        with storage_errors("recording a review decision"), self.engine.begin() as conn:
            changed = conn.execute(
                update(review_items)
                .where(self._held(sighting_id, analyst, now))
                .values(**_item_change(decision, analyst, now, note))
            ).rowcount
            if changed != 1:
                raise Conflict("you no longer hold this review item", sighting_id=sighting_id)
            if decision in (Decision.CONFIRM, Decision.NOT_A_MATCH):
                state = "confirmed" if decision is Decision.CONFIRM else "rejected"
                moved = conn.execute(
                    update(sightings)
                    .where(s.id == sighting_id, s.state == "pending_review")
                    .values(state=state, reviewed_at=now, reviewed_by=analyst[:200])
                ).rowcount
                if moved != 1:
                    raise Conflict("this sighting is no longer waiting for review")
            conn.execute(
                insert(review_decisions).values(
                    sighting_id=sighting_id,
                    analyst=analyst,
                    decision=decision.value,
                    category=category,
                    note=note,
                    allow_listed=allow is not None,
                    revealed=before.revealed_at is not None,
                    at=now,
                )
            )
            if allow is not None:
                conn.execute(insert(allow_list).values(**_allow_values(allow)))
        return before

    def waiting(self, now: datetime) -> dict[str, int]:
        query = (
            select(r.queue, func.count())
            .join(sightings, s.id == r.sighting_id)
            .where(r.decided_at.is_(None), s.state == "pending_review")
            .group_by(r.queue)
        )
        pending = select(func.count()).where(
            s.state == "pending_review", ~exists().where(r.sighting_id == s.id)
        )
        with storage_errors("counting the review queue"), self.engine.connect() as conn:
            counts = {q.value: 0 for q in Queue}
            counts.update({row[0]: int(row[1]) for row in conn.execute(query)})
            counts[Queue.MAIN.value] += int(conn.execute(pending).scalar_one())
        return counts

    def decided_since(self, analyst: str, since: datetime) -> int:
        d = review_decisions.c
        query = select(func.count()).where(d.analyst == analyst, d.at > since)
        with storage_errors("counting decisions"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def decisions(self, sighting_id: int) -> list[dict[str, Any]]:
        d = review_decisions.c
        query = select(review_decisions).where(d.sighting_id == sighting_id).order_by(d.id)
        with storage_errors("reading decisions"), self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # --- allow-list ----------------------------------------------------------------------

    def allow_entries(self) -> list[AllowEntry]:
        a = allow_list.c
        query = select(allow_list).where(a.active.is_(True)).order_by(a.id)
        with storage_errors("reading the allow-list"), self.engine.connect() as conn:
            return [
                AllowEntry(
                    id=row.id,
                    sha256=row.sha256,
                    pdq=row.pdq,
                    bank=row.bank,
                    entry_id=row.entry_id,
                    sighting_id=row.sighting_id,
                    added_by=row.added_by,
                    added_at=row.added_at,
                    reason=row.reason,
                )
                for row in conn.execute(query)
            ]

    def remove_allow_entry(self, entry_id: int) -> None:
        with storage_errors("changing the allow-list"), self.engine.begin() as conn:
            changed = conn.execute(
                update(allow_list).where(allow_list.c.id == entry_id).values(active=False)
            ).rowcount
        if changed != 1:
            raise NotFound(f"no allow-list entry {entry_id}")

    # --- wellbeing -----------------------------------------------------------------------

    def get_prefs(self, analyst: str) -> Prefs | None:
        query = select(review_prefs).where(review_prefs.c.analyst == analyst)
        with storage_errors("reading wellbeing settings"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Prefs(
            blur=row.blur,
            grayscale=bool(row.grayscale),
            break_after_reviews=row.break_after_reviews,
            break_after_minutes=row.break_after_minutes,
        )

    def set_prefs(self, analyst: str, prefs: Prefs, now: datetime) -> None:
        values = {
            "blur": prefs.blur,
            "grayscale": prefs.grayscale,
            "break_after_reviews": prefs.break_after_reviews,
            "break_after_minutes": prefs.break_after_minutes,
            "updated_at": now,
        }
        with storage_errors("saving wellbeing settings"), self.engine.begin() as conn:
            conn.execute(delete(review_prefs).where(review_prefs.c.analyst == analyst))
            conn.execute(insert(review_prefs).values(analyst=analyst, **values))

    # --- sightings for the pages ----------------------------------------------------------

    def list_sightings(
        self, where: SightingFilter, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[ReviewItem], int]:
        """One page of sightings, newest first, and how many match in all."""
        conditions = _where(where)
        query = (
            _ITEM_QUERY.where(*conditions)
            .order_by(s.seen_at.desc(), s.id.desc())
            .limit(max(1, min(limit, 500)))
            .offset(max(0, offset))
        )
        total = select(func.count()).select_from(sightings).where(*conditions)
        with storage_errors("listing sightings"), self.engine.connect() as conn:
            rows = [_item(row) for row in conn.execute(query)]
            return rows, int(conn.execute(total).scalar_one())

    def sighting_facets(self) -> dict[str, list[str]]:
        """The banks and providers sightings name (for the filter's choices)."""
        with storage_errors("listing sightings"), self.engine.connect() as conn:
            bank_names = conn.execute(select(s.bank).where(s.bank.is_not(None)).distinct())
            providers = conn.execute(select(s.provider).where(s.provider.is_not(None)).distinct())
            return {
                "banks": sorted(row[0] for row in bank_names),
                "providers": sorted(row[0] for row in providers),
            }


def _item_change(decision: Decision, analyst: str, now: datetime, note: str) -> dict[str, Any]:
    release = {"claimed_by": None, "claim_expires": None, "revealed_at": None}
    if decision is Decision.SKIP:
        return release
    if decision is Decision.ESCALATE:
        return {
            **release,
            "queue": Queue.SENIOR.value,
            "escalated_by": analyst,
            "escalated_at": now,
            "escalation_note": note,
        }
    return {"decision": decision.value, "decided_by": analyst, "decided_at": now}


def _allow_values(allow: AllowEntry) -> dict[str, Any]:
    return {
        "sha256": allow.sha256,
        "pdq": allow.pdq,
        "bank": allow.bank,
        "entry_id": allow.entry_id,
        "sighting_id": allow.sighting_id,
        "added_by": allow.added_by,
        "added_at": allow.added_at,
        "reason": allow.reason,
        "active": True,
    }
