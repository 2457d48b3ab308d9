"""The SQL implementation of :class:`keepdown.exchanges.model.FeedStore`.

Feeds, their checkpoints, leases and records go in and out as the exchanges package's frozen
values. :meth:`SqlFeedStore.apply_page` is one transaction (:mod:`keepdown.storage.feed_pages`
does the work): the page's records and entries, the ``imports`` journal row that tells the
match index what changed, and the checkpoint after the page. On PostgreSQL the journal row is
first committed as ``running`` (as bulk imports do), so an index reading while the page's
transaction is open knows entry ids below the highest it sees may still appear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import Conflict, NotFound
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.guards import GuardConfig
from keepdown.exchanges.model import (
    Feed,
    FeedKind,
    FeedRecordView,
    FeedSpec,
    FeedState,
    FeedStatus,
    PageResult,
)
from keepdown.exchanges.records import ExchangeRecord, RecordError
from keepdown.storage.bank_store import SqlBankStore
from keepdown.storage.engine import storage_errors
from keepdown.storage.feed_pages import PageWriter, latest_by_key
from keepdown.storage.tables_banks import bank_entries, banks, imports
from keepdown.storage.tables_exchanges import feed_record_entries, feed_records, feeds

__all__ = ["SqlFeedStore"]

#: ``imports.file_name`` of a feed page's journal row (then the feed's name).
JOURNAL_PREFIX = "(feed "
_SETTINGS = (
    "url",
    "options",
    "secrets",
    "every_seconds",
    "feedback",
    "quarantine",
    "guards",
    "enabled",
)


class SqlFeedStore:
    """Feeds and their records in SQL (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, banks_store: SqlBankStore | None = None) -> None:
        self.engine = engine
        self.banks = banks_store or SqlBankStore(engine)

    # --- feeds ---------------------------------------------------------------------------------

    def create_feed(self, spec: FeedSpec, now: datetime) -> Feed:
        bank = self.banks.get_bank(spec.bank)
        row = {
            "bank_id": bank.id,
            "kind": str(spec.kind),
            **_settings(spec.__dict__),
            "created_at": now,
            "updated_at": now,
            "checkpoint": Checkpoint().to_json(),
            "next_run_at": now,
        }
        with storage_errors("creating a feed"):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(feeds), row)
            except IntegrityError as exc:
                raise Conflict(
                    f"bank {spec.bank!r} is already filled by a feed", feed=spec.bank
                ) from exc
        return self.get_feed(spec.bank)

    def get_feed(self, name: str) -> Feed:
        with storage_errors("reading a feed"), self.engine.connect() as conn:
            row = conn.execute(_feed_query().where(banks.c.name == name)).mappings().one_or_none()
        if row is None:
            raise NotFound(
                f"no feed named {name!r} (a feed is named after the bank it fills)", feed=name
            )
        return _feed(row)

    def get_feed_by_id(self, feed_id: int) -> Feed:
        with storage_errors("reading a feed"), self.engine.connect() as conn:
            row = conn.execute(_feed_query().where(feeds.c.id == feed_id)).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no feed with id {feed_id}", feed_id=feed_id)
        return _feed(row)

    def list_feeds(self) -> list[Feed]:
        with storage_errors("listing feeds"), self.engine.connect() as conn:
            rows = conn.execute(_feed_query().order_by(banks.c.name)).mappings().all()
        return [_feed(row) for row in rows]

    def feed_of_bank(self, bank_id: int) -> Feed | None:
        with storage_errors("reading a feed"), self.engine.connect() as conn:
            row = (
                conn.execute(_feed_query().where(feeds.c.bank_id == bank_id))
                .mappings()
                .one_or_none()
            )
        return None if row is None else _feed(row)

    def update_feed(self, name: str, changes: Mapping[str, Any], now: datetime) -> Feed:
        unknown = set(changes) - set(_SETTINGS)
        if unknown:
            raise ValueError(f"not feed settings: {sorted(unknown)}")
        feed = self.get_feed(name)
        values = _settings(changes)
        if changes.get("enabled"):
            values["next_run_at"] = now  # switched back on: run soon
        with storage_errors("updating a feed"), self.engine.begin() as conn:
            conn.execute(
                update(feeds).where(feeds.c.id == feed.id).values(updated_at=now, **values)
            )
        return self.get_feed(name)

    def delete_feed(self, name: str) -> None:
        feed = self.get_feed(name)
        with storage_errors("deleting a feed"), self.engine.begin() as conn:
            conn.execute(delete(feeds).where(feeds.c.id == feed.id))

    # --- state and leases ----------------------------------------------------------------------

    def get_state(self, feed_id: int) -> FeedState:
        with storage_errors("reading a feed's state"), self.engine.connect() as conn:
            row = conn.execute(select(feeds).where(feeds.c.id == feed_id)).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no feed with id {feed_id}", feed_id=feed_id)
        return _state(row)

    def due_feeds(self, now: datetime) -> list[Feed]:
        f = feeds.c
        free = or_(f.lease_expires.is_(None), f.lease_expires < now)
        due = or_(f.next_run_at.is_(None), f.next_run_at <= now)
        query = _feed_query().where(f.enabled.is_(True), free, due).order_by(f.next_run_at)
        with storage_errors("finding due feeds"), self.engine.connect() as conn:
            return [_feed(row) for row in conn.execute(query).mappings()]

    def take_lease(self, feed_id: int, owner: str, now: datetime, until: datetime) -> bool:
        f = feeds.c
        free = or_(f.lease_expires.is_(None), f.lease_expires < now, f.lease_owner == owner)
        with storage_errors("taking a feed's lease"), self.engine.begin() as conn:
            taken = conn.execute(
                update(feeds)
                .where(f.id == feed_id, free)
                .values(
                    lease_owner=owner[:64], lease_expires=until, status="running", started_at=now
                )
            ).rowcount
        return bool(taken)

    def extend_lease(self, feed_id: int, owner: str, until: datetime) -> bool:
        f = feeds.c
        with storage_errors("extending a feed's lease"), self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(feeds)
                    .where(f.id == feed_id, f.lease_owner == owner)
                    .values(lease_expires=until)
                ).rowcount
            )

    def release(
        self,
        feed_id: int,
        owner: str,
        now: datetime,
        *,
        status: FeedStatus,
        error: str = "",
        next_run_at: datetime | None,
        succeeded: bool,
    ) -> None:
        f = feeds.c
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires": None,
            "status": str(status),
            "last_error": error[:4000],
            "finished_at": now,
            "next_run_at": next_run_at,
            "failures": 0 if succeeded else f.failures + 1,
        }
        if succeeded:
            values["succeeded_at"] = now
        with storage_errors("ending a feed's run"), self.engine.begin() as conn:
            conn.execute(
                update(feeds).where(f.id == feed_id, f.lease_owner == owner).values(**values)
            )

    def set_checkpoint(self, feed_id: int, checkpoint: Checkpoint, now: datetime) -> None:
        with storage_errors("storing a feed's checkpoint"), self.engine.begin() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(checkpoint=checkpoint.to_json(), checkpoint_at=now, next_run_at=now)
            )

    def set_status(self, feed_id: int, status: FeedStatus, error: str = "") -> None:
        with storage_errors("updating a feed's status"), self.engine.begin() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(status=str(status), last_error=error)
            )

    # --- pages ---------------------------------------------------------------------------------

    def apply_page(
        self,
        feed: Feed,
        records: Sequence[ExchangeRecord | RecordError],
        checkpoint: Checkpoint,
        now: datetime,
        *,
        reconcile: int | None = None,
    ) -> PageResult:
        good = latest_by_key(r for r in records if isinstance(r, ExchangeRecord))
        bad = sum(1 for r in records if isinstance(r, RecordError))
        bank = self.banks.get_bank(feed.bank)
        journaled = bool(good) or reconcile is not None
        running = self._running_row(feed, now) if journaled and self._unordered() else None
        with storage_errors("applying a feed page"), self.engine.begin() as conn:
            writer = PageWriter(conn, feed, bank, now, checkpoint.generation)
            result = writer.apply(good) if good else PageResult()
            if reconcile is not None:
                result = result + writer.reconcile(reconcile)
            result = result + PageResult(bad=bad)
            if journaled:
                self._journal(conn, feed, bank.id, result, now, running)
            conn.execute(
                update(feeds)
                .where(feeds.c.id == feed.id)
                .values(
                    checkpoint=checkpoint.to_json(),
                    checkpoint_at=now,
                    records=feeds.c.records + result.records,
                    pages=feeds.c.pages + 1,
                    bad_records=feeds.c.bad_records + bad,
                )
            )
        return result

    def _unordered(self) -> bool:
        """Entry ids may commit out of order (PostgreSQL): the index needs a running row."""
        return self.engine.dialect.name == "postgresql"

    def _running_row(self, feed: Feed, now: datetime) -> int:
        with storage_errors("starting a feed page"), self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(imports).returning(imports.c.id),
                    {
                        "bank_id": feed.bank_id,
                        "file_name": f"{JOURNAL_PREFIX}{feed.name})"[:500],
                        "sha256": _digest(feed, now),
                        "started_at": now,
                        "status": "running",
                    },
                ).scalar_one()
            )

    def _journal(
        self,
        conn: Any,
        feed: Feed,
        bank_id: int,
        result: PageResult,
        now: datetime,
        running: int | None,
    ) -> None:
        """The page's row in ``imports`` (the match index's journal), if entries changed."""
        counts = {
            "lines": result.records,
            "added": result.added,
            "already_present": result.stale,
            "invalid": result.bad,
            "restored": result.restored,
            "removed": result.removed + result.guarded,
        }
        if not result.changed_entries:
            if running is not None:
                conn.execute(delete(imports).where(imports.c.id == running))
            return
        if running is not None:
            conn.execute(
                update(imports)
                .where(imports.c.id == running)
                .values(status="done", finished_at=now, **counts)
            )
            return
        conn.execute(
            insert(imports),
            {
                "bank_id": bank_id,
                "file_name": f"{JOURNAL_PREFIX}{feed.name})"[:500],
                "sha256": _digest(feed, now),
                "started_at": now,
                "finished_at": now,
                "status": "done",
                **counts,
            },
        )

    # --- reading records -----------------------------------------------------------------------

    def records(
        self, feed_id: int, *, after: int = 0, limit: int = 100, entry_id: int | None = None
    ) -> list[FeedRecordView]:
        c = feed_records.c
        query = select(feed_records).where(c.feed_id == feed_id, c.id > after)
        if entry_id is not None:
            carriers = select(feed_record_entries.c.record_id).where(
                feed_record_entries.c.entry_id == entry_id, feed_record_entries.c.live.is_(True)
            )
            query = query.where(c.id.in_(carriers))
        with storage_errors("reading feed records"), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(c.id).limit(limit)).mappings().all()
            links: dict[int, list[int]] = {}
            ids = [row["id"] for row in rows]
            if ids:
                for rid, eid in conn.execute(
                    select(feed_record_entries.c.record_id, feed_record_entries.c.entry_id).where(
                        feed_record_entries.c.record_id.in_(ids),
                        feed_record_entries.c.live.is_(True),
                    )
                ):
                    links.setdefault(rid, []).append(eid)
        return [_record_view(row, links.get(row["id"], [])) for row in rows]

    def entry_signal(self, entry_id: int) -> tuple[str, str] | None:
        """(signal type, value) of a bank entry, or None if there is no such entry."""
        e = bank_entries.c
        with storage_errors("reading an entry"), self.engine.connect() as conn:
            row = conn.execute(select(e.signal_type, e.value).where(e.id == entry_id)).first()
        return None if row is None else (row.signal_type, row.value)

    def counts(self, feed_id: int) -> dict[str, int]:
        """Live and withdrawn records of a feed."""
        c = feed_records.c
        with storage_errors("counting feed records"), self.engine.connect() as conn:
            rows = conn.execute(
                select(c.deleted, _count()).where(c.feed_id == feed_id).group_by(c.deleted)
            ).all()
        out = {"live": 0, "withdrawn": 0}
        for deleted, n in rows:
            out["withdrawn" if deleted else "live"] += int(n)
        return out

    def restore_guarded(self, feed: Feed, now: datetime) -> int:
        """Entries held back by a guard that the feed's current guards let through, restored
        (journaled like a page, so the match index picks them up)."""
        e = bank_entries.c
        bank = self.banks.get_bank(feed.bank)
        with storage_errors("re-checking guarded entries"), self.engine.begin() as conn:
            rows = conn.execute(
                select(e.id, e.signal_type, e.value).where(
                    e.bank_id == bank.id,
                    e.removal_reason == "low-information",
                    e.removed_at.is_not(None),
                )
            ).all()
            ids = [r.id for r in rows if not feed.guards.holds_back(r.signal_type, r.value)]
            for start in range(0, len(ids), 900):
                conn.execute(
                    update(bank_entries)
                    .where(e.id.in_(ids[start : start + 900]))
                    .values(removed_at=None, removal_reason=None)
                )
            if ids:
                self._journal(conn, feed, bank.id, PageResult(restored=len(ids)), now, None)
        return len(ids)


def _count() -> Any:
    from sqlalchemy import func

    return func.count()


def _digest(feed: Feed, now: datetime) -> str:
    return hashlib.sha256(f"feed:{feed.id}:{now.isoformat()}".encode()).hexdigest()


def _settings(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _SETTINGS:
        if name not in values:
            continue
        value = values[name]
        if name == "guards":
            value = value.to_dict() if isinstance(value, GuardConfig) else dict(value)
        elif name in ("options", "secrets"):
            value = dict(value)
        out[name] = value
    return out


def _feed_query() -> Any:
    return select(feeds, banks.c.name.label("bank_name")).join(banks, banks.c.id == feeds.c.bank_id)


def _feed(row: Any) -> Feed:
    return Feed(
        id=row["id"],
        bank=row["bank_name"],
        bank_id=row["bank_id"],
        kind=FeedKind(row["kind"]),
        url=row["url"],
        options=dict(row["options"] or {}),
        secrets=dict(row["secrets"] or {}),
        every_seconds=int(row["every_seconds"]),
        feedback=bool(row["feedback"]),
        quarantine=bool(row["quarantine"]),
        guards=GuardConfig.from_dict(row["guards"]),
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _state(row: Any) -> FeedState:
    return FeedState(
        feed_id=row["id"],
        checkpoint=Checkpoint.from_json(row["checkpoint"]),
        status=FeedStatus(row["status"]),
        last_error=row["last_error"] or "",
        checkpoint_at=row["checkpoint_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        succeeded_at=row["succeeded_at"],
        next_run_at=row["next_run_at"],
        lease_owner=row["lease_owner"],
        lease_expires=row["lease_expires"],
        records=int(row["records"]),
        pages=int(row["pages"]),
        bad_records=int(row["bad_records"]),
        failures=int(row["failures"]),
    )


def _record_view(row: Any, entry_ids: list[int]) -> FeedRecordView:
    return FeedRecordView(
        id=row["id"],
        feed_id=row["feed_id"],
        key=row["record_key"],
        member=row["member"],
        kind=row["kind"],
        label=row["label"],
        status=row["status"],
        deleted=bool(row["deleted"]),
        updated_at=row["updated_at"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        fingerprints=dict(row["fingerprints"] or {}),
        extra=dict(row["extra"] or {}),
        entry_ids=tuple(sorted(entry_ids)),
    )
