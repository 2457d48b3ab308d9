"""One page of an exchange's records into a bank, in the caller's transaction.

:class:`PageWriter` does the work of ``SqlFeedStore.apply_page``; every step reads and writes
in batches (a page of 1,000 records is a dozen statements, not thousands):

1. keep each record key once (the latest ``updated_at``), then read the stored state of
   those keys; a record older than the stored one is **stale** (last writer wins): only its
   "seen in this generation" mark moves;
2. upsert the other records (new rows, or new state on their rows);
3. the hashes live records carry: look them up in the bank; insert the missing ones (with the
   record's provenance; a hash a guard holds back goes in as a ``low-information``
   tombstone); restore those the exchange had withdrawn (reason ``source-withdrew``) and
   carries again. A tombstone an analyst left (``false-positive``) stays;
4. relink: each changed record's links become exactly the hashes it carries now;
5. tombstone (``source-withdrew``) every entry that lost a link and that no live record of
   the feed carries any more; a new classification of a record is written to its entries;
6. ``reconcile(generation)``: records a full fetch did not bring are withdrawn, as in 5.

The caller (``SqlFeedStore``) journals the changes in ``imports`` and stores the checkpoint
in the same transaction (``docs/storage.md``: every change to entries is journaled).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from keepdown.banks.model import Bank, RemovalReason
from keepdown.exchanges.model import Feed, PageResult
from keepdown.exchanges.records import ExchangeRecord
from keepdown.storage.schema import bank_entries, entry_key
from keepdown.storage.tables_exchanges import feed_record_entries, feed_records

__all__ = ["PageWriter", "latest_by_key"]

#: Ids per ``IN (...)`` list: well under SQLite's bound-parameter limit.
CHUNK = 900
WITHDREW = str(RemovalReason.SOURCE_WITHDREW)
LOW_INFORMATION = str(RemovalReason.LOW_INFORMATION)

Pair = tuple[str, str]  # (signal type, hex value)


#: Columns a new record row needs when its change names no more than a deletion.
_FULL_ROW: dict[str, Any] = {
    "member": None,
    "kind": None,
    "label": None,
    "category": None,
    "maturity": None,
    "status": None,
}


def latest_by_key(records: Iterable[ExchangeRecord]) -> list[ExchangeRecord]:
    """Each key once: the latest ``updated_at`` (on a tie, the later in the page)."""
    chosen: dict[str, ExchangeRecord] = {}
    for record in records:
        held = chosen.get(record.key)
        if held is None or record.updated_at >= held.updated_at:
            chosen[record.key] = record
    return list(chosen.values())


def _opt(bank: Bank, attribute: str) -> str | None:
    c = bank.classification
    return None if c is None else str(getattr(c, attribute))


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class PageWriter:
    """Applies pages of one feed in one connection's transaction (module docstring)."""

    def __init__(self, conn: Connection, feed: Feed, bank: Bank, now: datetime, generation: int):
        self.conn = conn
        self.feed = feed
        self.bank = bank
        self.now = now
        self.generation = generation
        self._fresh: set[int] = set()  # entries this writer inserted

    # --- 1 and 2: the records ---------------------------------------------------------------

    def apply(self, records: Sequence[ExchangeRecord]) -> PageResult:
        stored = self._stored([r.key for r in records])
        stale_ids, fresh, changed = [], [], []
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
        links = {
            **{ids[r.key]: (r, None) for r in fresh},
            **{row["id"]: (r, row) for row, r in changed},
        }
        result = self._entries(links)
        return PageResult(records=len(records), stale=len(stale_ids)) + result

    def _stored(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        c = feed_records.c
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(keys):
            rows = self.conn.execute(
                select(c.id, c.record_key, c.updated_at, c.deleted, c.label, c.category).where(
                    c.feed_id == self.feed.id, c.record_key.in_(chunk)
                )
            ).mappings()
            for row in rows:
                found[row["record_key"]] = dict(row)
        return found

    def _touch(self, ids: Sequence[int]) -> None:
        for chunk in _chunks(ids):
            self.conn.execute(
                update(feed_records)
                .where(feed_records.c.id.in_(chunk))
                .values(generation=self.generation, last_seen_at=self.now)
            )

    def _values(self, record: ExchangeRecord) -> dict[str, Any]:
        c = record.classification
        if record.deleted and not record.fingerprints:
            # A tombstone names the record only: keep what it was (its last label and
            # fingerprints) on the row, so the withdrawn record still shows what it carried.
            return {
                "deleted": True,
                "status": record.status and record.status[:64],
                "updated_at": record.updated_at,
                "last_seen_at": self.now,
                "generation": self.generation,
            }
        return {
            "member": (record.member or None) and record.member[:200],
            "kind": record.kind and record.kind[:64],
            "label": record.label and record.label[:200],
            "category": str(c.category) if c else None,
            "maturity": str(c.maturity) if c else None,
            "status": record.status and record.status[:64],
            "deleted": record.deleted,
            "fingerprints": dict(record.fingerprints),
            "extra": dict(record.extra),
            "updated_at": record.updated_at,
            "last_seen_at": self.now,
            "generation": self.generation,
        }

    def _insert_records(self, records: Sequence[ExchangeRecord]) -> dict[str, int]:
        if not records:
            return {}
        blank: dict[str, Any] = {"fingerprints": {}, "extra": {}}
        rows = [
            {
                "feed_id": self.feed.id,
                "record_key": r.key,
                "first_seen_at": self.now,
                **_FULL_ROW,
                **blank,
                **self._values(r),
            }
            for r in records
        ]
        self.conn.execute(insert(feed_records), rows)
        stored = self._stored([r.key for r in records])
        return {key: row["id"] for key, row in stored.items()}

    def _update_records(self, changed: Sequence[tuple[dict[str, Any], ExchangeRecord]]) -> None:
        if not changed:
            return
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row, r in changed:
            values = self._values(r)
            groups.setdefault(tuple(values), []).append({"rid": row["id"], **values})
        for names, params in groups.items():
            self.conn.execute(
                update(feed_records)
                .where(feed_records.c.id == bindparam("rid"))
                .values({name: bindparam(name) for name in names}),
                params,
            )

    # --- 3 to 5: the entries ----------------------------------------------------------------

    def _entries(
        self, links: dict[int, tuple[ExchangeRecord, dict[str, Any] | None]]
    ) -> PageResult:
        old = self._links([rid for rid, (_r, row) in links.items() if row is not None])
        wanted: dict[int, set[Pair]] = {
            rid: set() if r.deleted else {(str(s), v) for s, v in r.signals}
            for rid, (r, _row) in links.items()
        }
        pairs = sorted({p for carried in wanted.values() for p in carried})
        ids, counts = self._ensure(pairs, links)
        new_links = [
            {"record_id": rid, "entry_id": ids[p]}
            for rid, carried in wanted.items()
            for p in carried
            if ids[p] not in old.get(rid, ())
        ]
        gone = [
            (rid, eid)
            for rid, have in old.items()
            for eid in have
            if eid not in {ids[p] for p in wanted.get(rid, ())}
        ]
        if new_links:
            self.conn.execute(insert(feed_record_entries), new_links)
        self._unlink(gone)
        removed = self.tombstone_orphans({eid for _rid, eid in gone})
        touched = {link["entry_id"] for link in new_links} - self._fresh
        touched |= {eid for _rid, eid in gone} | self._relabelled(links, old)
        self._reprovenance(touched)
        return PageResult(
            added=counts["added"],
            restored=counts["restored"],
            guarded=counts["guarded"],
            removed=removed,
        )

    def _links(self, record_ids: Sequence[int]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for chunk in _chunks(record_ids):
            for rid, eid in self.conn.execute(
                select(feed_record_entries.c.record_id, feed_record_entries.c.entry_id).where(
                    feed_record_entries.c.record_id.in_(chunk)
                )
            ):
                out.setdefault(rid, set()).add(eid)
        return out

    def _unlink(self, pairs: Sequence[tuple[int, int]]) -> None:
        if pairs:
            link = feed_record_entries.c
            self.conn.execute(
                delete(feed_record_entries).where(
                    link.record_id == bindparam("rid"), link.entry_id == bindparam("eid")
                ),
                [{"rid": rid, "eid": eid} for rid, eid in pairs],
            )

    def _ensure(
        self, pairs: Sequence[Pair], links: dict[int, tuple[ExchangeRecord, Any]]
    ) -> tuple[dict[Pair, int], dict[str, int]]:
        """Entry ids of ``pairs``, adding and restoring as step 3 says."""
        counts = {"added": 0, "restored": 0, "guarded": 0}
        found = self._lookup(pairs)
        missing = [p for p in pairs if p not in found]
        if missing:
            provenance = self._provenance(links)
            rows = []
            for p in missing:
                why = self.feed.guards.holds_back(p[0], p[1])
                rows.append(self._entry_row(p, provenance[p], held=why is not None))
                counts["guarded" if why else "added"] += 1
            self.conn.execute(insert(bank_entries), rows)
            added = self._lookup(missing)
            self._fresh.update(v[0] for v in added.values())
            found.update(added)
        restore = [
            found[p][0]
            for p in pairs
            if found[p][1] is not None
            and (
                found[p][2] == WITHDREW
                or (found[p][2] == LOW_INFORMATION and not self.feed.guards.holds_back(*p))
            )
        ]
        for chunk in _chunks(restore):
            self.conn.execute(
                update(bank_entries)
                .where(bank_entries.c.id.in_(chunk))
                .values(removed_at=None, removal_reason=None)
            )
        counts["restored"] = len(restore)
        return {p: v[0] for p, v in found.items()}, counts

    def _lookup(self, pairs: Sequence[Pair]) -> dict[Pair, tuple[int, Any, str | None]]:
        e = bank_entries.c
        by_type: dict[str, list[str]] = {}
        for signal_type, value in pairs:
            by_type.setdefault(signal_type, []).append(entry_key(value))
        out: dict[Pair, tuple[int, Any, str | None]] = {}
        for signal_type, keys in by_type.items():
            for chunk in _chunks(keys):
                for row in self.conn.execute(
                    select(e.id, e.value, e.removed_at, e.removal_reason).where(
                        e.bank_id == self.bank.id,
                        e.signal_type == signal_type,
                        e.value_key.in_(chunk),
                    )
                ):
                    out[(signal_type, row.value)] = (row.id, row.removed_at, row.removal_reason)
        return out

    def _provenance(
        self, links: dict[int, tuple[ExchangeRecord, Any]]
    ) -> dict[Pair, ExchangeRecord]:
        """For each hash, the carrier with the smallest key (see :meth:`_reprovenance`)."""
        out: dict[Pair, ExchangeRecord] = {}
        for record, _row in links.values():
            if not record.deleted:
                for s, v in record.signals:
                    held = out.get((str(s), v))
                    if held is None or record.key < held.key:
                        out[(str(s), v)] = record
        return out

    def _entry_row(self, pair: Pair, record: ExchangeRecord, *, held: bool) -> dict[str, Any]:
        c = record.classification or self.bank.classification
        return {
            "bank_id": self.bank.id,
            "signal_type": pair[0],
            "value": pair[1],
            "value_key": entry_key(pair[1]),
            "source_label": (record.label or self.bank.default_label),
            "category": str(c.category) if c else None,
            "maturity": str(c.maturity) if c else None,
            "source_id": record.key,
            "notes": self._notes(record.member),
            "added_at": record.updated_at,
            "removed_at": self.now if held else None,
            "removal_reason": LOW_INFORMATION if held else None,
        }

    def tombstone_orphans(self, candidates: set[int]) -> int:
        """Tombstone those of ``candidates`` that are active and carried by no live record."""
        if not candidates:
            return 0
        still: set[int] = set()
        ids = sorted(candidates)
        for chunk in _chunks(ids):
            still.update(
                r[0]
                for r in self.conn.execute(
                    select(feed_record_entries.c.entry_id).where(
                        feed_record_entries.c.entry_id.in_(chunk)
                    )
                )
            )
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
        """Entries of records whose classification changed."""
        out: set[int] = set()
        for rid, (record, row) in links.items():
            if row is None or record.deleted or not old.get(rid):
                continue
            c = record.classification
            if row["label"] != record.label or row["category"] != (str(c.category) if c else None):
                out |= old[rid]
        return out

    def _reprovenance(self, entry_ids: set[int]) -> None:
        """Each entry's provenance is that of its live carrier with the smallest key, so it
        does not depend on the order records arrived in (a resumed fetch gives the same bank)."""
        if not entry_ids:
            return
        r, link = feed_records.c, feed_record_entries.c
        best: dict[int, Any] = {}
        for chunk in _chunks(sorted(entry_ids)):
            for row in self.conn.execute(
                select(
                    link.entry_id,
                    r.record_key,
                    r.label,
                    r.category,
                    r.maturity,
                    r.member,
                    r.updated_at,
                )
                .join(feed_records, r.id == link.record_id)
                .where(link.entry_id.in_(chunk))
            ):
                held = best.get(row.entry_id)
                if held is None or row.record_key < held.record_key:
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
            e = bank_entries.c
            self.conn.execute(
                update(bank_entries)
                .where(e.id == bindparam("eid"))
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

    def _notes(self, member: str | None) -> str:
        where = f" (member {member})" if member else ""
        return f"from {self.feed.kind} feed {self.feed.name}{where}"[:2000]

    # --- 6: a full fetch's end ----------------------------------------------------------------

    def reconcile(self, generation: int) -> PageResult:
        """Withdraw the feed's live records no fetch of ``generation`` (or later) brought."""
        c = feed_records.c
        ids = [
            r[0]
            for r in self.conn.execute(
                select(c.id).where(
                    c.feed_id == self.feed.id, c.generation < generation, c.deleted.is_(False)
                )
            )
        ]
        if not ids:
            return PageResult()
        links = self._links(ids)
        candidates = {eid for have in links.values() for eid in have}
        for chunk in _chunks(ids):
            self.conn.execute(
                delete(feed_record_entries).where(feed_record_entries.c.record_id.in_(chunk))
            )
            self.conn.execute(
                update(feed_records)
                .where(c.id.in_(chunk))
                .values(
                    deleted=True, status="withdrawn: not in a full fetch", last_seen_at=self.now
                )
            )
        return PageResult(reconciled=len(ids), removed=self.tombstone_orphans(candidates))
