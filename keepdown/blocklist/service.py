"""The block list computed from keepdown's own state, its serials and its changes.

:meth:`BlocklistService.refresh` is the one way the list changes:

1. what should be listed: every confirmed location still present (not removed, not
   withdrawn; a reappearance is a new location, so the URL comes back), one entry per
   canonical URL; every whole domain an analyst decided on; the canary;
2. minus what an upheld appeal delisted (until a confirmation newer than the decision);
3. compared with the current list: when they differ, the differences are written as the next
   serial with one event per entry added or removed (``BlocklistEntryAdded`` /
   ``BlocklistEntryRemoved``), in one transaction. Two refreshes at once: one wins the serial,
   the other finds it taken and reads the winner's list.

So a removal confirmed by a re-check leaves the list at the next refresh: the re-check pass
refreshes after it ran, and every fetch refreshes at most ``blocklist_refresh_seconds`` after
the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from keepdown.blocklist.canonical import canonical_host, canonicalise
from keepdown.blocklist.model import (
    Appeal,
    AppealState,
    BlocklistStore,
    Change,
    DomainDecision,
    Entry,
    EntryKind,
    Snapshot,
)
from keepdown.clock import Clock
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.events import (
    BlocklistAppealDecided,
    BlocklistAppealed,
    BlocklistDomainDecided,
    BlocklistEntryAdded,
    BlocklistEntryRemoved,
    Event,
    EventSink,
)

__all__ = ["BlocklistService", "Canary", "normalise_domain"]

_REMOVE_WHY = {"location": "removed", "domain": "lifted", "canary": "canary changed"}


@dataclass(frozen=True)
class Canary:
    """The permanent test entry: a whole host (so DNS and proxies both block it) and a URL on
    it (for the keyed feed and URL lists)."""

    host: str

    @property
    def url(self) -> str:
        return f"http://{self.host}/keepdown-canary"

    def entries(self, since: datetime) -> list[Entry]:
        return [
            Entry(EntryKind.DOMAIN, self.host, since, "canary", "canary"),
            Entry(EntryKind.URL, canonicalise(self.url), since, "canary", "canary"),
        ]


def normalise_domain(domain: str) -> str:
    """A domain as the list holds it: canonical host rules, no scheme, no path."""
    text = domain.strip()
    if "/" in text or not text:
        raise InvalidInput(f"a domain, not a URL: {domain!r}")
    host = canonical_host(text.encode("utf-8"))
    if "." not in host or host.startswith("%"):
        raise InvalidInput(f"not a domain: {domain!r}")
    return host


def _merge(entries: Iterable[Entry]) -> dict[str, Entry]:
    """One entry per key: the earliest first confirmation, the latest last one."""
    merged: dict[str, Entry] = {}
    for entry in entries:
        seen = merged.get(entry.key)
        if seen is None:
            merged[entry.key] = entry
            continue
        last = max(
            (t for t in (seen.last_confirmed_at, entry.last_confirmed_at) if t), default=None
        )
        first = min(seen.first_confirmed_at, entry.first_confirmed_at)
        merged[entry.key] = replace(seen, first_confirmed_at=first, last_confirmed_at=last)
    return merged


class BlocklistService:
    """Computes, changes and reads the block list (module docstring)."""

    def __init__(
        self,
        store: BlocklistStore,
        events: EventSink,
        clock: Clock,
        canary: Canary | None = None,
        epoch: datetime | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.canary = canary
        self.epoch = epoch or clock.now()
        self._lock = threading.Lock()
        #: The list as this process last read or wrote it: read again only when the stored
        #: serial moved (another process changed it), never to find out what it just wrote.
        self._kept: Snapshot | None = None

    # --- what should be listed ------------------------------------------------------------

    def wanted(self) -> dict[str, Entry]:
        """Every entry the list should hold now (steps 1 and 2)."""
        entries: list[Entry] = list(self.store.present_locations())
        for d in self.store.domains():
            entries.append(
                Entry(EntryKind.DOMAIN, d.domain, d.decided_at, "domain", d.classification)
            )
        if self.canary is not None:
            entries.extend(self.canary.entries(self.epoch))
        wanted = _merge(entries)
        for appeal in self.store.appeals(AppealState.UPHELD):
            for key in (f"url:{appeal.target}", f"domain:{appeal.target}"):
                entry = wanted.get(key)
                newer = entry is not None and _confirmed_after(entry, appeal.decided_at)
                if entry is not None and entry.reason != "canary" and not newer:
                    del wanted[key]
        return wanted

    def refresh(self) -> Snapshot:
        """Bring the list to what it should be (steps 3); the list after it."""
        with self._lock:
            for _ in range(3):
                current = self._current()
                changes, events = self._diff(current, self.wanted())
                if not changes:
                    return current
                if self.store.apply(current.serial, changes, events, changes[0].at):
                    self._kept = _applied(current, changes)
                    return self._kept
            return self._current()

    def _current(self) -> Snapshot:
        kept = self._kept
        if kept is None or kept.serial != self.store.serial():
            kept = self._kept = self.store.current()
        return kept

    def _diff(
        self, current: Snapshot, wanted: dict[str, Entry]
    ) -> tuple[list[Change], list[Event]]:
        now = self.clock.now()
        serial = current.serial + 1
        have = {e.key: e for e in current.entries}
        changes: list[Change] = []
        events: list[Event] = []
        for key in sorted(have.keys() - wanted.keys()):
            entry = have[key]
            why = self._why_removed(entry)
            changes.append(Change(serial, "remove", entry, now, why))
            events.append(
                BlocklistEntryRemoved(
                    at=now, serial=serial, entry_kind=entry.kind.value, target=entry.target, why=why
                )
            )
        for key in sorted(wanted.keys() - have.keys()):
            entry = wanted[key]
            changes.append(Change(serial, "add", entry, now))
            events.append(
                BlocklistEntryAdded(
                    at=now,
                    serial=serial,
                    entry_kind=entry.kind.value,
                    target=entry.target,
                    reason=entry.reason,
                    provider=entry.provider,
                    classification=entry.classification,
                )
            )
        return changes, events

    def _why_removed(self, entry: Entry) -> str:
        upheld = {a.target for a in self.store.appeals(AppealState.UPHELD)}
        return "appeal upheld" if entry.target in upheld else _REMOVE_WHY[entry.reason]

    # --- reading --------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._current()

    def changes_since(self, serial: int) -> list[Change]:
        current = self.store.current().serial
        if serial < 0 or serial > current:
            raise InvalidInput(f"serial {serial} is not between 0 and {current}")
        return self.store.changes_since(serial)

    # --- analysts' decisions --------------------------------------------------------------

    def list_domain(
        self, domain: str, *, analyst: str, reason: str, classification: str = ""
    ) -> DomainDecision:
        """List a whole domain (the caller audits it); the list changes at once."""
        if not reason.strip():
            raise InvalidInput("a whole domain is listed only with a reason")
        name = normalise_domain(domain)
        now = self.clock.now()
        decision = DomainDecision(name, analyst, now, reason.strip(), classification)
        event = BlocklistDomainDecided(at=now, by=analyst, domain=name, listed=True, reason=reason)
        self.store.set_domain(decision, event)
        self.refresh()
        return decision

    def lift_domain(self, domain: str, *, analyst: str, reason: str) -> None:
        name = normalise_domain(domain)
        now = self.clock.now()
        event = BlocklistDomainDecided(at=now, by=analyst, domain=name, listed=False, reason=reason)
        if not self.store.lift_domain(name, event):
            raise NotFound(f"domain {name} is not listed")
        self.refresh()

    def appeal(self, target: str, *, contact: str, reason: str) -> Appeal:
        """Someone asks for a listed URL or domain to be reviewed."""
        key = _target_of(target)
        listed = {e.target for e in self.store.current().entries}
        if key not in listed:
            raise NotFound("that address is not on the block list")
        if not reason.strip():
            raise InvalidInput("say why the block is wrong")
        appeal = self.store.add_appeal(key, contact.strip(), reason.strip(), self.clock.now())
        self.events.emit(BlocklistAppealed(at=appeal.received_at, appeal_id=appeal.id, target=key))
        return appeal

    def decide_appeal(self, appeal_id: int, *, analyst: str, upheld: bool, note: str) -> Appeal:
        """The analyst's decision (the caller audits it); an upheld appeal delists at once."""
        found = [a for a in self.store.appeals() if a.id == appeal_id]
        if not found:
            raise NotFound(f"no appeal {appeal_id}")
        if found[0].state is not AppealState.OPEN:
            raise Conflict(f"appeal {appeal_id} is already {found[0].state.value}")
        now = self.clock.now()
        state = AppealState.UPHELD if upheld else AppealState.REJECTED
        decided = replace(found[0], state=state, decided_by=analyst, decided_at=now, note=note)
        event = BlocklistAppealDecided(
            at=now, by=analyst, appeal_id=appeal_id, target=decided.target, outcome=state.value
        )
        self.store.decide_appeal(decided, event)
        self.refresh()
        return decided


def _applied(before: Snapshot, changes: list[Change]) -> Snapshot:
    """The list after ``changes`` (one serial's) were written, without reading it back."""
    gone = {c.entry.key for c in changes if c.op == "remove"}
    kept = [e for e in before.entries if e.key not in gone]
    kept += [c.entry for c in changes if c.op == "add"]
    return Snapshot(changes[0].serial, changes[0].at, tuple(kept))


def _confirmed_after(entry: Entry, moment: datetime | None) -> bool:
    return (
        moment is not None
        and entry.last_confirmed_at is not None
        and entry.last_confirmed_at > moment
    )


def _target_of(text: str) -> str:
    """A URL's canonical form, or a bare domain's name."""
    stripped = text.strip()
    if "/" not in stripped:
        return normalise_domain(stripped)
    return canonicalise(stripped)
