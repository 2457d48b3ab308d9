"""The block list's store (:class:`keepdown.blocklist.BlocklistStore`) on SQL.

:meth:`SqlBlocklistStore.present_locations` reads the notices' locations (the list is
computed from them, never copied by hand); :meth:`SqlBlocklistStore.apply` writes one serial,
its entry rows, its change rows and its events in one transaction. The serial's row is the
race: a second refresh that computed the same serial fails on its primary key and writes
nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.blocklist.canonical import canonicalise
from keepdown.blocklist.model import (
    Appeal,
    AppealState,
    Change,
    DomainDecision,
    Entry,
    EntryKind,
    Snapshot,
)
from keepdown.errors import InvalidInput
from keepdown.events import Event
from keepdown.notices.lifecycle import CLOSED
from keepdown.storage.engine import inserted_id, storage_errors
from keepdown.storage.event_store import insert_events
from keepdown.storage.tables_blocklist import (
    blocklist_appeals,
    blocklist_changes,
    blocklist_domains,
    blocklist_entries,
    blocklist_serials,
)
from keepdown.storage.tables_notices import notice_locations
from keepdown.storage.tables_providers import providers

__all__ = ["SqlBlocklistStore"]

_CLOSED = [state.value for state in CLOSED]


def _target_key(entry: Entry) -> str:
    return hashlib.sha256(entry.key.encode("utf-8")).hexdigest()


def _entry(row: Row[Any]) -> Entry:
    m = row._mapping
    return Entry(
        kind=EntryKind(m["kind"]),
        target=m["target"],
        first_confirmed_at=m["first_confirmed_at"],
        reason=m["reason"],
        classification=m["classification"],
        provider=m["provider"],
        last_confirmed_at=m.get("last_confirmed_at"),
    )


def _appeal(row: Row[Any]) -> Appeal:
    m = row._mapping
    return Appeal(
        id=m["id"],
        target=m["target"],
        contact=m["contact"],
        reason=m["reason"],
        state=AppealState(m["state"]),
        received_at=m["received_at"],
        decided_by=m["decided_by"],
        decided_at=m["decided_at"],
        note=m["note"],
    )


def _entry_values(entry: Entry) -> dict[str, Any]:
    return {
        "kind": entry.kind.value,
        "target": entry.target,
        "reason": entry.reason,
        "classification": entry.classification,
        "provider": entry.provider,
        "first_confirmed_at": entry.first_confirmed_at,
    }


class SqlBlocklistStore:
    """The block list's rows (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: Canonical form of each location URL seen (canonicalising 100k URLs per refresh
        #: would cost seconds; a URL's canonical form never changes).
        self._canonical: dict[str, str | None] = {}

    def _canon(self, url: str) -> str | None:
        found = self._canonical.get(url, "")
        if found == "":
            try:
                found = canonicalise(url)
            except InvalidInput:
                found = None
            if len(self._canonical) > 2_000_000:
                self._canonical.clear()
            self._canonical[url] = found
        return found

    def present_locations(self) -> list[Entry]:
        query = (
            select(
                notice_locations.c.media_url,
                notice_locations.c.detected_at,
                notice_locations.c.category,
                providers.c.name,
            )
            .join(providers, providers.c.id == notice_locations.c.provider_id)
            .where(notice_locations.c.state.not_in(_CLOSED))
        )
        with storage_errors("reading the block list's locations"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        entries = []
        for url, detected_at, category, provider in rows:
            target = self._canon(url)
            if target is None:
                continue
            entries.append(
                Entry(
                    EntryKind.URL,
                    target,
                    detected_at,
                    "location",
                    category or "",
                    provider,
                    last_confirmed_at=detected_at,
                )
            )
        return entries

    def serial(self) -> int:
        with storage_errors("reading the block list's serial"), self.engine.connect() as conn:
            return int(conn.execute(select(func.max(blocklist_serials.c.serial))).scalar() or 0)

    def current(self) -> Snapshot:
        with storage_errors("reading the block list"), self.engine.connect() as conn:
            head = conn.execute(
                select(blocklist_serials.c.serial, blocklist_serials.c.at)
                .order_by(blocklist_serials.c.serial.desc())
                .limit(1)
            ).first()
            rows = conn.execute(select(blocklist_entries).order_by(blocklist_entries.c.id)).all()
        serial, at = (head[0], head[1]) if head else (0, None)
        return Snapshot(serial, at, tuple(_entry(r) for r in rows))

    def apply(
        self, expected: int, changes: Sequence[Change], events: Sequence[Event], at: datetime
    ) -> bool:
        serial = expected + 1
        adds = [c.entry for c in changes if c.op == "add"]
        removes = [_target_key(c.entry) for c in changes if c.op == "remove"]
        try:
            with storage_errors("changing the block list"), self.engine.begin() as conn:
                conn.execute(
                    insert(blocklist_serials),
                    {"serial": serial, "at": at, "added": len(adds), "removed": len(removes)},
                )
                for start in range(0, len(removes), 500):
                    keys = removes[start : start + 500]
                    conn.execute(
                        delete(blocklist_entries).where(blocklist_entries.c.target_key.in_(keys))
                    )
                if adds:
                    conn.execute(
                        insert(blocklist_entries),
                        [
                            _entry_values(e)
                            | {
                                "target_key": _target_key(e),
                                "last_confirmed_at": e.last_confirmed_at,
                                "added_serial": serial,
                            }
                            for e in adds
                        ],
                    )
                conn.execute(
                    insert(blocklist_changes),
                    [
                        _entry_values(c.entry)
                        | {"serial": serial, "op": c.op, "at": c.at, "why": c.why}
                        for c in changes
                    ],
                )
                insert_events(conn, events)
        except IntegrityError:
            return False
        return True

    def changes_since(self, serial: int) -> list[Change]:
        query = (
            select(blocklist_changes)
            .where(blocklist_changes.c.serial > serial)
            .order_by(blocklist_changes.c.id)
        )
        with storage_errors("reading the block list's changes"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Change(r.serial, r.op, _entry(r), r.at, r.why) for r in rows]

    # --- analysts' inputs -----------------------------------------------------------------

    def domains(self) -> list[DomainDecision]:
        with storage_errors("reading listed domains"), self.engine.connect() as conn:
            rows = conn.execute(select(blocklist_domains).order_by(blocklist_domains.c.domain))
            return [DomainDecision(**dict(r._mapping)) for r in rows]

    def set_domain(self, decision: DomainDecision, event: Event) -> None:
        values = {
            "domain": decision.domain,
            "decided_by": decision.decided_by,
            "decided_at": decision.decided_at,
            "reason": decision.reason,
            "classification": decision.classification,
        }
        with storage_errors("listing a domain"), self.engine.begin() as conn:
            conn.execute(
                delete(blocklist_domains).where(blocklist_domains.c.domain == decision.domain)
            )
            conn.execute(insert(blocklist_domains), values)
            insert_events(conn, (event,))

    def lift_domain(self, domain: str, event: Event) -> bool:
        with storage_errors("lifting a domain"), self.engine.begin() as conn:
            gone = conn.execute(
                delete(blocklist_domains).where(blocklist_domains.c.domain == domain)
            )
            if not gone.rowcount:
                return False
            insert_events(conn, (event,))
            return True

    def add_appeal(self, target: str, contact: str, reason: str, at: datetime) -> Appeal:
        values = {
            "target": target,
            "contact": contact,
            "reason": reason,
            "state": AppealState.OPEN.value,
            "received_at": at,
        }
        with storage_errors("storing an appeal"), self.engine.begin() as conn:
            appeal_id = inserted_id(conn.execute(insert(blocklist_appeals), values))
        return Appeal(appeal_id, target, contact, reason, AppealState.OPEN, at)

    def appeals(self, state: AppealState | None = None) -> list[Appeal]:
        query = select(blocklist_appeals).order_by(blocklist_appeals.c.id)
        if state is not None:
            query = query.where(blocklist_appeals.c.state == state.value)
        with storage_errors("reading appeals"), self.engine.connect() as conn:
            return [_appeal(r) for r in conn.execute(query)]

    def decide_appeal(self, appeal: Appeal, event: Event) -> None:
        with storage_errors("deciding an appeal"), self.engine.begin() as conn:
            conn.execute(
                update(blocklist_appeals)
                .where(blocklist_appeals.c.id == appeal.id)
                .values(
                    state=appeal.state.value,
                    decided_by=appeal.decided_by,
                    decided_at=appeal.decided_at,
                    note=appeal.note,
                )
            )
            insert_events(conn, (event,))
