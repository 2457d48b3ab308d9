"""Published banks (write-back), and the review decisions the feedback planner reads.

- :class:`SqlPublicationStore` implements :class:`keepdown.exchanges.writeback.PublicationStore`;
- :class:`SqlDecisionSource` implements :class:`keepdown.exchanges.feedback.DecisionSource`
  over the ``events`` table (``review_decided`` rows in id order: the order they were taken).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.exchanges.feedback import DecisionSeen
from keepdown.exchanges.writeback import Publication, takes
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_banks import bank_entries, banks
from keepdown.storage.tables_events import events
from keepdown.storage.tables_exchanges import feeds, publications

__all__ = ["SqlDecisionSource", "SqlPublicationStore"]


class SqlPublicationStore:
    """Which banks go to which exchange (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def publish(
        self, bank: str, feed: str, by: str, tags: Sequence[str], now: datetime
    ) -> Publication:
        with storage_errors("publishing a bank"), self.engine.begin() as conn:
            bank_id = self._bank(conn, bank)
            target = conn.execute(
                select(feeds.c.id, feeds.c.kind)
                .join(banks, banks.c.id == feeds.c.bank_id)
                .where(banks.c.name == feed)
            ).first()
            if target is None:
                raise NotFound(f"no exchange connection (feed) named {feed!r}", feed=feed)
            if conn.execute(select(feeds.c.id).where(feeds.c.bank_id == bank_id)).first():
                raise Conflict(
                    f"bank {bank!r} is filled by a feed: an exchange's list is not published back",
                    bank=bank,
                )
            if not takes(target.kind):
                raise InvalidInput(f"{target.kind} accepts no submissions (write-back)", feed=feed)
            p = publications.c
            found = conn.execute(
                select(p.id).where(p.bank_id == bank_id, p.feed_id == target.id)
            ).scalar_one_or_none()
            values = {
                "enabled": True,
                "tags": list(tags),
                "opted_in_by": by[:200],
                "opted_in_at": now,
                "updated_at": now,
            }
            if found is None:
                conn.execute(
                    insert(publications), {"bank_id": bank_id, "feed_id": target.id, **values}
                )
            else:
                conn.execute(update(publications).where(p.id == found).values(**values))
        return self._one(bank, feed)

    def stop(self, bank: str, feed: str, now: datetime) -> Publication:
        pub = self._one(bank, feed)
        with storage_errors("stopping a publication"), self.engine.begin() as conn:
            conn.execute(
                update(publications)
                .where(publications.c.id == pub.id)
                .values(enabled=False, updated_at=now)
            )
        return self._one(bank, feed)

    def publications(self, *, enabled_only: bool = False) -> list[Publication]:
        query = _query()
        if enabled_only:
            query = query.where(publications.c.enabled.is_(True))
        with storage_errors("listing publications"), self.engine.connect() as conn:
            return [
                _publication(row)
                for row in conn.execute(query.order_by(publications.c.id)).mappings()
            ]

    def _one(self, bank: str, feed: str) -> Publication:
        for pub in self.publications():
            if pub.bank == bank and pub.feed == feed:
                return pub
        raise NotFound(f"bank {bank!r} is not published to {feed!r}", bank=bank, feed=feed)

    def _bank(self, conn: Any, name: str) -> int:
        found = conn.execute(select(banks.c.id).where(banks.c.name == name)).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no bank named {name!r}", bank=name)
        return int(found)

    def entries_after(
        self, bank_id: int, after_id: int, signal_types: Sequence[str], limit: int
    ) -> list[tuple[int, str, str]]:
        e = bank_entries.c
        query = (
            select(e.id, e.signal_type, e.value)
            .where(
                e.bank_id == bank_id,
                e.id > after_id,
                e.removed_at.is_(None),
                e.signal_type.in_(list(signal_types)),
            )
            .order_by(e.id)
            .limit(limit)
        )
        with storage_errors("reading entries to publish"), self.engine.connect() as conn:
            return [(int(r.id), r.signal_type, r.value) for r in conn.execute(query)]


def _query() -> Any:
    bank = banks.alias("bank")
    feed_bank = banks.alias("feed_bank")
    return (
        select(
            publications,
            bank.c.name.label("bank_name"),
            feed_bank.c.name.label("feed_name"),
            feeds.c.kind.label("exchange"),
        )
        .join(bank, bank.c.id == publications.c.bank_id)
        .join(feeds, feeds.c.id == publications.c.feed_id)
        .join(feed_bank, feed_bank.c.id == feeds.c.bank_id)
    )


def _publication(row: Any) -> Publication:
    return Publication(
        id=row["id"],
        bank=row["bank_name"],
        bank_id=row["bank_id"],
        feed=row["feed_name"],
        feed_id=row["feed_id"],
        exchange=row["exchange"],
        enabled=bool(row["enabled"]),
        tags=tuple(row["tags"] or ()),
        opted_in_by=row["opted_in_by"],
        opted_in_at=row["opted_in_at"],
        updated_at=row["updated_at"],
    )


class SqlDecisionSource:
    """Review decisions from the event log, in the order they were recorded."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def decisions_after(self, position: int, limit: int) -> list[DecisionSeen]:
        query = (
            select(events.c.id, events.c.payload)
            .where(events.c.kind == "review_decided", events.c.id > position)
            .order_by(events.c.id)
            .limit(limit)
        )
        with storage_errors("reading review decisions"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        out = []
        for event_id, payload in rows:
            entry = payload.get("entry_id")
            out.append(
                DecisionSeen(
                    position=int(event_id),
                    sighting_id=str(payload.get("sighting_id", "")),
                    decision=str(payload.get("decision", "")),
                    bank=str(payload.get("bank", "")),
                    entry_id=int(entry) if entry is not None else None,
                    analyst=str(payload.get("analyst", "")),
                    at=datetime.fromisoformat(payload["at"]),
                )
            )
        return out
