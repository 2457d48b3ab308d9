"""One page of an exchange's records into a bank, in the caller's transaction.

:class:`PageWriter` does the work of ``SqlFeedStore.apply_page``; every step reads and writes
in batches through :class:`~keepdown.storage.feed_rows.FeedRows` (a page of 10,000 records is
a dozen statements, not thousands):

1. keep each record key once (the latest ``updated_at``), then read the stored state of
   those keys; a record older than the stored one is **stale** (last writer wins): only its
   "seen in this generation" mark moves;
2. upsert the other records (new rows, or new state on their rows; a deletion that names a
   record only keeps the record's last label and fingerprints, to show what was withdrawn);
3. the hashes live records carry: look them up in the bank; insert the missing ones (with
   their provenance; a hash a guard holds back goes in as a ``low-information`` tombstone);
   restore those the exchange had withdrawn (``source-withdrew``) and carries again. A
   tombstone an analyst left (``false-positive``) stays;
4. relink: each changed record's links become exactly the hashes it carries now;
5. tombstone (``source-withdrew``) every entry that lost a link and that no live record of
   the feed carries any more; entries whose carriers changed take the provenance of their
   live carrier with the smallest key, so the bank does not depend on the order records
   arrived in. A link a record lost (it carries another hash now, or it was withdrawn) is
   kept as a *former* link (``live`` false), so an entry no live record carries takes the
   provenance of its former carrier with the smallest key: not that of whichever carrier
   happened to let go of it last (a resumed fetch, with other page boundaries, would
   disagree with an uninterrupted one);
6. ``reconcile(generation)``: records a full fetch did not bring are withdrawn, as in 5.

The caller (``SqlFeedStore``) journals the changes in ``imports`` and stores the checkpoint
in the same transaction (``docs/storage.md``: every change to entries is journaled).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from keepdown.banks.model import Bank, RemovalReason
from keepdown.exchanges.model import Feed, PageResult
from keepdown.exchanges.records import ExchangeRecord
from keepdown.hashing.types import SignalType
from keepdown.storage.feed_rows import FeedRows, classified
from keepdown.storage.tables_banks import bank_entries, entry_key
from keepdown.storage.tables_exchanges import feed_record_entries, feed_records

__all__ = ["PageWriter", "latest_by_key"]

#: Ids per ``IN (...)`` list in the Core statements here.
CHUNK = 900
WITHDREW = str(RemovalReason.SOURCE_WITHDREW)
LOW_INFORMATION = str(RemovalReason.LOW_INFORMATION)

Pair = tuple[str, str]  # (signal type, hex value)
#: Signal types as plain strings (a StrEnum's ``.value`` costs a descriptor call per use).
_PLAIN = {s: s.value for s in SignalType}


def latest_by_key(records: Iterable[ExchangeRecord]) -> list[ExchangeRecord]:
    """Each key once: the latest ``updated_at`` (on a tie, the later in the page)."""
    chosen: dict[str, ExchangeRecord] = {}
    for record in records:
        held = chosen.get(record.key)
        if held is None or record.updated_at >= held.updated_at:
            chosen[record.key] = record
    return list(chosen.values())


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _opt(bank: Bank, attribute: str) -> str | None:
    c = bank.classification
    return None if c is None else str(getattr(c, attribute))


class PageWriter:
    """Applies pages of one feed in one connection's transaction (module docstring)."""

    def __init__(
        self, conn: Connection, feed: Feed, bank: Bank, now: datetime, generation: int
    ) -> None:
        self.conn = conn
        self.rows = FeedRows(conn)
        self.feed = feed
        self.bank = bank
        self.now = now
        self.generation = generation
        self._fresh: set[int] = set()  # entries this writer inserted

    # --- 1 and 2: the records ---------------------------------------------------------------

    def apply(self, records: Sequence[ExchangeRecord]) -> PageResult:
        stored = self.rows.find_records(self.feed.id, [r.key for r in records])
        stale_ids: list[int] = []
        fresh: list[ExchangeRecord] = []
        changed: list[tuple[dict[str, Any], ExchangeRecord]] = []
        for record in records:
            row = stored.get(record.key)
            if row is None:
                fresh.append(record)
            elif row["updated_at"] > record.updated_at:
                stale_ids.append(row["id"])
            else:
                changed.append((row, record))
        self._touch(stale_ids)
        ids = self._insert_records(fresh)
        self._update_records(changed)
        links: dict[int, tuple[ExchangeRecord, dict[str, Any] | None]] = {
            ids[r.key]: (r, None) for r in fresh
        }
        links.update({row["id"]: (r, row) for row, r in changed})
        result = self._entries(links)
        return PageResult(records=len(records), stale=len(stale_ids)) + result

    def _touch(self, ids: Sequence[int]) -> None:
        params = [{"id": i, "generation": self.generation, "last_seen_at": self.now} for i in ids]
        self.rows.update_records(("generation", "last_seen_at"), params)

    def _values(self, record: ExchangeRecord) -> dict[str, Any]:
        common = {
            "deleted": record.deleted,
            "status": record.status and record.status[:64],
            "updated_at": record.updated_at,
            "last_seen_at": self.now,
            "generation": self.generation,
        }
        if record.deleted and not record.fingerprints:
            # A tombstone names the record only: its row keeps its last label and fingerprints.
            return common
        c = record.classification
        return {
            **common,
            "member": record.member[:200] if record.member else None,
            "kind": record.kind[:64] if record.kind else None,
            "label": record.label[:200] if record.label else None,
            "category": str(c.category) if c else None,
            "maturity": str(c.maturity) if c else None,
            "fingerprints": dict(record.fingerprints),
            "extra": dict(record.extra),
        }

    def _insert_records(self, records: Sequence[ExchangeRecord]) -> dict[str, int]:
        if not records:
            return {}
        return self.rows.insert_records(self.feed.id, records, self.now, self.generation)

    def _update_records(self, changed: Sequence[tuple[dict[str, Any], ExchangeRecord]]) -> None:
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row, r in changed:
            values = self._values(r)
            groups.setdefault(tuple(values), []).append({"id": row["id"], **values})
        for names, params in groups.items():
            self.rows.update_records(names, params)

    # --- 3 to 5: the entries ----------------------------------------------------------------

    def _entries(
        self, links: dict[int, tuple[ExchangeRecord, dict[str, Any] | None]]
    ) -> PageResult:
        old = self.rows.links([rid for rid, (_r, row) in links.items() if row is not None])
        wanted: dict[int, set[Pair]] = {
            rid: set() if r.deleted else {(_PLAIN[s], v) for s, v in r.signals}
            for rid, (r, _row) in links.items()
        }
        pairs = sorted({p for carried in wanted.values() for p in carried})
        ids, counts = self._ensure(pairs, links)
        new_links = [
            (rid, ids[p])
            for rid, carried in wanted.items()
            for p in carried
            if ids[p] not in old.get(rid, ())
        ]
        gone: list[tuple[int, int]] = []
        for rid, have in old.items():
            keep = {ids[p] for p in wanted.get(rid, ())}
            gone.extend((rid, eid) for eid in have if eid not in keep)
        self.rows.add_links(new_links)
        self.rows.retire_links(gone)
        removed = self.tombstone_orphans({eid for _rid, eid in gone})
        touched = {eid for _rid, eid in new_links} - self._fresh
        touched |= {eid for _rid, eid in gone} | self._relabelled(links, old)
        self._reprovenance(touched)
        return PageResult(
            added=counts["added"],
            restored=counts["restored"],
            guarded=counts["guarded"],
            removed=removed,
        )

    def _ensure(
        self, pairs: Sequence[Pair], links: dict[int, tuple[ExchangeRecord, Any]]
    ) -> tuple[dict[Pair, int], dict[str, int]]:
        """Entry ids of ``pairs``, adding and restoring as step 3 says."""
        counts = {"added": 0, "restored": 0, "guarded": 0}
        found = self.rows.find_entries(self.bank.id, pairs)
        missing = [p for p in pairs if p not in found]
        if missing:
            provenance = self._provenance(links)
            held = self.feed.guards.hold_back_many(missing)
            notes: dict[str | None, str] = {}
            rows = [
                self._entry_row(p, provenance[p], why is not None, notes)
                for p, why in zip(missing, held, strict=True)
            ]
            counts["guarded"] = sum(1 for why in held if why is not None)
            counts["added"] = len(missing) - counts["guarded"]
            added = self.rows.insert_entries(rows)
            self._fresh.update(added.values())
            found.update({p: (i, None, None) for p, i in added.items()})
        withdrawn = [p for p in pairs if found[p][1] is not None]
        held_now = self.feed.guards.hold_back_many(withdrawn)
        restore = [
            found[p][0]
            for p, why in zip(withdrawn, held_now, strict=True)
            if found[p][2] == WITHDREW or (found[p][2] == LOW_INFORMATION and why is None)
        ]
        for chunk in _chunks(restore):
            self.conn.execute(
                update(bank_entries)
                .where(bank_entries.c.id.in_(chunk))
                .values(removed_at=None, removal_reason=None)
            )
        counts["restored"] = len(restore)
        return {p: v[0] for p, v in found.items()}, counts

    def _provenance(
        self, links: dict[int, tuple[ExchangeRecord, Any]]
    ) -> dict[Pair, ExchangeRecord]:
        """For each hash, the carrier with the smallest key (see :meth:`_reprovenance`)."""
        out: dict[Pair, ExchangeRecord] = {}
        for record, _row in links.values():
            if not record.deleted:
                for s, v in record.signals:
                    pair = (_PLAIN[s], v)
                    held = out.get(pair)
                    if held is None or record.key < held.key:
                        out[pair] = record
        return out

    def _notes(self, member: str | None) -> str:
        where = f" (member {member})" if member else ""
        return f"from {self.feed.kind} feed {self.feed.name}{where}"[:2000]

    def _entry_row(
        self, pair: Pair, record: ExchangeRecord, held: bool, notes: dict[str | None, str]
    ) -> tuple[Any, ...]:
        """A new entry's row, in ``FeedRows.ENTRY_COLUMNS`` order."""
        category, maturity = classified(record.classification or self.bank.classification)
        if record.member not in notes:
            notes[record.member] = self._notes(record.member)
        return (
            self.bank.id,
            pair[0],
            pair[1],
            entry_key(pair[1]),
            record.label or self.bank.default_label,
            category,
            maturity,
            record.key,
            notes[record.member],
            record.updated_at,
            self.now if held else None,
            LOW_INFORMATION if held else None,
        )

    def tombstone_orphans(self, candidates: set[int]) -> int:
        """Tombstone those of ``candidates`` that are active and carried by no live record."""
        if not candidates:
            return 0
        ids = sorted(candidates)
        still = self.rows.carried(ids)
        orphans = [eid for eid in ids if eid not in still]
        removed = 0
        for chunk in _chunks(orphans):
            removed += self.conn.execute(
                update(bank_entries)
                .where(bank_entries.c.id.in_(chunk), bank_entries.c.removed_at.is_(None))
                .values(removed_at=self.now, removal_reason=WITHDREW)
            ).rowcount
        return removed

    def _relabelled(
        self, links: dict[int, tuple[ExchangeRecord, Any]], old: dict[int, set[int]]
    ) -> set[int]:
        """Entries, carried now or before, of records whose classification changed."""
        changed: list[int] = []
        for rid, (record, row) in links.items():
            if row is None or (record.deleted and not record.fingerprints):
                continue  # new, or a deletion naming the record only (its label stays)
            c = record.classification
            category = str(c.category) if c else None
            if row["label"] != record.label or row["category"] != category:
                changed.append(rid)
        out: set[int] = set()
        for have in self.rows.links(changed, former=True).values():
            out |= have
        return out

    def _reprovenance(self, entry_ids: set[int]) -> None:
        """Each entry's provenance is that of its live carrier with the smallest key; an entry
        no live record carries takes that of its former carrier with the smallest key. So it
        does not depend on the order records arrived in or let go of it (a resumed fetch
        gives the same bank)."""
        if not entry_ids:
            return
        r, link = feed_records.c, feed_record_entries.c
        best: dict[int, Any] = {}
        for chunk in _chunks(sorted(entry_ids)):
            query = (
                select(link.entry_id, link.live, r.record_key, r.label, r.category, r.maturity)
                .add_columns(r.member, r.updated_at)
                .join(feed_records, r.id == link.record_id)
                .where(link.entry_id.in_(chunk))
            )  # fmt: skip
            for row in self.conn.execute(query):
                held = best.get(row.entry_id)
                if held is None or (not row.live, row.record_key) < (
                    not held.live,
                    held.record_key,
                ):
                    best[row.entry_id] = row
        params = [
            {
                "eid": eid,
                "sid": row.record_key,
                "label": row.label or self.bank.default_label,
                "cat": row.category if row.category else _opt(self.bank, "category"),
                "mat": row.maturity if row.category else _opt(self.bank, "maturity"),
                "at": row.updated_at,
                "notes": self._notes(row.member),
            }
            for eid, row in best.items()
        ]
        if params:
            self.conn.execute(
                update(bank_entries)
                .where(bank_entries.c.id == bindparam("eid"))
                .values(
                    source_id=bindparam("sid"),
                    source_label=bindparam("label"),
                    category=bindparam("cat"),
                    maturity=bindparam("mat"),
                    added_at=bindparam("at"),
                    notes=bindparam("notes"),
                ),
                params,
            )

    # --- 6: a full fetch's end ----------------------------------------------------------------

    def reconcile(self, generation: int) -> PageResult:
        """Withdraw the feed's live records no fetch of ``generation`` (or later) brought."""
        c = feed_records.c
        query = select(c.id).where(
            c.feed_id == self.feed.id, c.generation < generation, c.deleted.is_(False)
        )
        ids = [row[0] for row in self.conn.execute(query)]
        if not ids:
            return PageResult()
        links = self.rows.links(ids)
        candidates = {eid for have in links.values() for eid in have}
        self.rows.retire_links([(rid, eid) for rid, have in links.items() for eid in have])
        for chunk in _chunks(ids):
            self.conn.execute(
                update(feed_records)
                .where(c.id.in_(chunk))
                .values(
                    deleted=True, status="withdrawn: not in a full fetch", last_seen_at=self.now
                )
            )
        removed = self.tombstone_orphans(candidates)
        self._reprovenance(candidates)  # entries other records still carry
        return PageResult(reconciled=len(ids), removed=removed)
