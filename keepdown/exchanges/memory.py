"""In-memory twins of the exchanges' stores: for tests, and as the plain reference the SQL
store's page writer is proven against (``tests/exchanges/test_memory_twin.py``).

:class:`MemoryFeedStore` keeps feeds, checkpoints, records and the bank entries of the feeds'
banks in dictionaries and applies a page by the rules of
:meth:`~keepdown.exchanges.model.FeedStore.apply_page` written as directly as possible: last
writer wins, one link per carried hash, a hash no live record carries is tombstoned
(``source-withdrew``), a withdrawn hash carried again comes back, an analyst's removal stays,
a guarded hash goes in as a ``low-information`` tombstone, each entry's provenance is its live
carrier with the smallest key (an entry no live record carries: its former carrier with the
smallest key, a record that carried it before), a full fetch's end withdraws what it did not
bring.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from keepdown.errors import Conflict, NotFound
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.model import (
    Feed,
    FeedRecordView,
    FeedSpec,
    FeedState,
    FeedStatus,
    PageResult,
)
from keepdown.exchanges.records import ExchangeRecord, RecordError

__all__ = ["MemoryEntry", "MemoryFeedStore"]


@dataclass
class MemoryEntry:
    """One bank entry of the twin."""

    id: int
    bank: str
    signal_type: str
    value: str
    removed_at: datetime | None = None
    removal_reason: str | None = None
    source_id: str | None = None
    source_label: str | None = None
    category: str | None = None


@dataclass
class _Record:
    id: int
    record: ExchangeRecord
    generation: int
    deleted: bool
    links: set[int] = field(default_factory=set)
    former: set[int] = field(default_factory=set)  # entries it carried before
    label: str | None = None  # as stored: a deletion naming the record only keeps the last
    category: str | None = None


class MemoryFeedStore:
    """Feeds and their banks' entries in memory (module docstring)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.feeds: dict[str, Feed] = {}
        self.states: dict[int, FeedState] = {}
        self.entries: dict[tuple[str, str, str], MemoryEntry] = {}  # (bank, type, value)
        self.records: dict[tuple[int, str], _Record] = {}  # (feed id, key)

    def create_feed(self, spec: FeedSpec, now: datetime) -> Feed:
        if spec.bank in self.feeds:
            raise Conflict(f"bank {spec.bank!r} is already filled by a feed")
        feed_id = next(self._ids)
        feed = Feed(
            id=feed_id,
            bank=spec.bank,
            bank_id=feed_id,
            kind=spec.kind,
            url=spec.url,
            options=dict(spec.options),
            secrets=dict(spec.secrets),
            every_seconds=spec.every_seconds,
            feedback=spec.feedback,
            quarantine=spec.quarantine,
            guards=spec.guards,
            enabled=spec.enabled,
            created_at=now,
            updated_at=now,
        )
        self.feeds[spec.bank] = feed
        self.states[feed_id] = FeedState(feed_id=feed_id, checkpoint=Checkpoint(), next_run_at=now)
        return feed

    def get_feed(self, name: str) -> Feed:
        if name not in self.feeds:
            raise NotFound(f"no feed named {name!r}")
        return self.feeds[name]

    def get_feed_by_id(self, feed_id: int) -> Feed:
        return next(f for f in self.feeds.values() if f.id == feed_id)

    def list_feeds(self) -> list[Feed]:
        return sorted(self.feeds.values(), key=lambda f: f.bank)

    def get_state(self, feed_id: int) -> FeedState:
        return self.states[feed_id]

    def set_checkpoint(self, feed_id: int, checkpoint: Checkpoint, now: datetime) -> None:
        self.states[feed_id] = replace(self.states[feed_id], checkpoint=checkpoint, next_run_at=now)

    def take_lease(self, feed_id: int, owner: str, now: datetime, until: datetime) -> bool:
        state = self.states[feed_id]
        if (
            state.lease_expires is not None
            and state.lease_expires >= now
            and state.lease_owner != owner
        ):
            return False
        self.states[feed_id] = replace(
            state, lease_owner=owner, lease_expires=until, status=FeedStatus.RUNNING, started_at=now
        )
        return True

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
        state = self.states[feed_id]
        if state.lease_owner != owner:
            return
        self.states[feed_id] = replace(
            state,
            lease_owner=None,
            lease_expires=None,
            status=status,
            last_error=error,
            finished_at=now,
            next_run_at=next_run_at,
            succeeded_at=now if succeeded else state.succeeded_at,
            failures=0 if succeeded else state.failures + 1,
        )

    def entry_signal(self, entry_id: int) -> tuple[str, str] | None:
        found = next((e for e in self.entries.values() if e.id == entry_id), None)
        return None if found is None else (found.signal_type, found.value)

    # --- pages -----------------------------------------------------------------------------

    def apply_page(
        self,
        feed: Feed,
        records: Sequence[ExchangeRecord | RecordError],
        checkpoint: Checkpoint,
        now: datetime,
        *,
        reconcile: int | None = None,
    ) -> PageResult:
        latest: dict[str, ExchangeRecord] = {}
        for r in records:
            if isinstance(r, ExchangeRecord) and (
                r.key not in latest or r.updated_at >= latest[r.key].updated_at
            ):
                latest[r.key] = r
        counts: dict[str, int] = dict.fromkeys(
            ("stale", "added", "restored", "removed", "guarded", "reconciled"), 0
        )
        touched: set[int] = set()
        for record in latest.values():
            self._apply(feed, record, checkpoint.generation, now, counts, touched)
        counts["removed"] += self._orphans(feed, touched, now)
        self._provenance(feed, touched)
        if reconcile is not None:  # after the page's records, as the SQL store does
            withdrawn: set[int] = set()
            for (feed_id, _key), held in self.records.items():
                if feed_id == feed.id and held.generation < reconcile and not held.deleted:
                    held.deleted = True
                    withdrawn |= held.links
                    held.former |= held.links
                    held.links = set()
                    counts["reconciled"] += 1
            counts["removed"] += self._orphans(feed, withdrawn, now)
            self._provenance(feed, withdrawn)
        state = self.states[feed.id]
        self.states[feed.id] = replace(
            state,
            checkpoint=checkpoint,
            checkpoint_at=now,
            records=state.records + len(latest),
            pages=state.pages + 1,
            bad_records=state.bad_records + sum(isinstance(r, RecordError) for r in records),
        )
        bad = sum(isinstance(r, RecordError) for r in records)
        return PageResult(records=len(latest), bad=bad, **counts)

    def _apply(
        self,
        feed: Feed,
        record: ExchangeRecord,
        generation: int,
        now: datetime,
        counts: dict[str, int],
        touched: set[int],
    ) -> None:
        held = self.records.get((feed.id, record.key))
        if held is not None and held.record.updated_at > record.updated_at:
            counts["stale"] += 1
            held.generation = generation
            return
        if held is None:
            held = _Record(next(self._ids), record, generation, record.deleted)
            self.records[(feed.id, record.key)] = held
        old = set(held.links)
        held.record, held.generation, held.deleted = record, generation, record.deleted
        if not (record.deleted and not record.fingerprints):
            c = record.classification
            held.label, held.category = record.label, c.category.value if c else None
        wanted = (
            set()
            if record.deleted
            else {self._entry(feed, s.value, v, record, now, counts) for s, v in record.signals}
        )
        held.links = wanted
        held.former = (held.former | old) - wanted
        touched |= old ^ wanted
        touched |= wanted | held.former  # a (former) carrier's label may have changed

    def _entry(
        self,
        feed: Feed,
        signal_type: str,
        value: str,
        record: ExchangeRecord,
        now: datetime,
        counts: dict[str, int],
    ) -> int:
        key = (feed.bank, signal_type, value)
        entry = self.entries.get(key)
        why = feed.guards.holds_back(signal_type, value)
        if entry is None:
            entry = MemoryEntry(next(self._ids), feed.bank, signal_type, value)
            if why is not None:
                entry.removed_at, entry.removal_reason = now, "low-information"
                counts["guarded"] += 1
            else:
                counts["added"] += 1
            self.entries[key] = entry
        elif entry.removed_at is not None and (
            entry.removal_reason == "source-withdrew"
            or (entry.removal_reason == "low-information" and why is None)
        ):
            entry.removed_at, entry.removal_reason = None, None
            counts["restored"] += 1
        return entry.id

    def _orphans(self, feed: Feed, touched: set[int], now: datetime) -> int:
        carried = {e for held in self.records.values() for e in held.links}
        removed = 0
        for entry in self.entries.values():
            if entry.id in touched and entry.id not in carried and entry.removed_at is None:
                entry.removed_at, entry.removal_reason = now, "source-withdrew"
                removed += 1
        return removed

    def _provenance(self, feed: Feed, touched: set[int]) -> None:
        for entry in self.entries.values():
            if entry.id not in touched:
                continue
            carriers = [
                (entry.id not in h.links, h.record.key, h)
                for h in self.records.values()
                if entry.id in h.links or entry.id in h.former
            ]
            if carriers:  # live links first, then the smallest key
                *_, best = min(carriers, key=lambda c: c[:2])
                entry.source_id = best.record.key
                entry.source_label = best.label
                entry.category = best.category

    # --- reading ---------------------------------------------------------------------------

    def bank(self, name: str) -> dict[tuple[str, str], tuple[bool, str | None, str | None]]:
        """(type, value) -> (removed, reason, source id) of a bank, for comparisons."""
        return {
            (e.signal_type, e.value): (e.removed_at is not None, e.removal_reason, e.source_id)
            for e in self.entries.values()
            if e.bank == name
        }

    def record_states(self, feed: Feed) -> dict[str, tuple[bool, datetime]]:
        return {
            key: (held.deleted, held.record.updated_at)
            for (feed_id, key), held in self.records.items()
            if feed_id == feed.id
        }

    def view(self, feed: Feed) -> list[FeedRecordView]:
        return [
            FeedRecordView(
                id=held.id,
                feed_id=feed.id,
                key=key,
                member=held.record.member,
                kind=held.record.kind,
                label=held.record.label,
                status=held.record.status,
                deleted=held.deleted,
                updated_at=held.record.updated_at,
                first_seen_at=held.record.updated_at,
                last_seen_at=held.record.updated_at,
                fingerprints=dict(held.record.fingerprints),
                extra=dict(held.record.extra),
                entry_ids=tuple(sorted(held.links)),
            )
            for (feed_id, key), held in self.records.items()
            if feed_id == feed.id
        ]
