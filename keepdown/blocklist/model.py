"""The block list's values and the store protocol they live in.

An :class:`Entry` is one listed thing: a URL (a confirmed location still present, in its
canonical form) or a whole domain (an analyst's audited decision, or the canary). The list
has a serial: each change of its contents is one new serial, with one :class:`Change` per
entry added or removed, so a licensee holding serial N fetches only what changed since N.
:class:`DomainDecision` and :class:`Appeal` are the analysts' inputs.

:class:`BlocklistStore` is implemented by ``keepdown.storage.blocklist_store``; the service
(:mod:`keepdown.blocklist.service`) decides, the store persists changes and their events in
one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.events import Event

__all__ = [
    "Appeal",
    "AppealState",
    "BlocklistStore",
    "Change",
    "DomainDecision",
    "Entry",
    "EntryKind",
    "Snapshot",
]


class EntryKind(StrEnum):
    URL = "url"
    DOMAIN = "domain"


class AppealState(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # wrongly listed: the entry leaves the list
    REJECTED = "rejected"  # rightly listed: it stays


@dataclass(frozen=True)
class Entry:
    """One listed URL or domain. ``target``: the canonical URL, or the domain (lowercase).
    ``reason``: ``location`` (confirmed and still present), ``domain`` (an analyst's
    decision) or ``canary``. ``last_confirmed_at``: the latest confirmation behind it."""

    kind: EntryKind
    target: str
    first_confirmed_at: datetime
    reason: str
    classification: str = ""
    provider: str = ""
    last_confirmed_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.target}"

    @property
    def host(self) -> str:
        if self.kind is EntryKind.DOMAIN:
            return self.target
        return self.target.partition("://")[2].partition("/")[0].partition("?")[0]

    @property
    def expression(self) -> str:
        """What the keyed feed hashes: ``host/path?query`` or ``domain/``."""
        if self.kind is EntryKind.DOMAIN:
            return f"{self.target}/"
        return self.target.partition("://")[2]  # canonical: host/path?query after the scheme

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "target": self.target,
            "reason": self.reason,
            "first_confirmed_at": self.first_confirmed_at.isoformat(),
            "classification": self.classification,
            "provider": self.provider,
        }


@dataclass(frozen=True)
class Change:
    """One entry added (``op`` ``add``) or removed (``remove``) at ``serial``."""

    serial: int
    op: str
    entry: Entry
    at: datetime
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        head = {"serial": self.serial, "op": self.op, "at": self.at.isoformat(), "why": self.why}
        return head | self.entry.to_dict()


@dataclass(frozen=True)
class Snapshot:
    """The list at one serial (``at``: when that serial was made; None before the first)."""

    serial: int
    at: datetime | None
    entries: tuple[Entry, ...]

    def of_kind(self, kind: EntryKind) -> list[Entry]:
        return [e for e in self.entries if e.kind is kind]


@dataclass(frozen=True)
class DomainDecision:
    """An analyst's decision that a whole domain is dedicated to such material."""

    domain: str
    decided_by: str
    decided_at: datetime
    reason: str
    classification: str = ""


@dataclass(frozen=True)
class Appeal:
    """A request to review a listed URL or domain, and the analyst's decision on it."""

    id: int
    target: str
    contact: str
    reason: str
    state: AppealState
    received_at: datetime
    decided_by: str = ""
    decided_at: datetime | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target,
            "reason": self.reason,
            "state": self.state.value,
            "received_at": self.received_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
        }


class BlocklistStore(Protocol):
    """Where the list, its changes and the analysts' inputs live."""

    def present_locations(self) -> list[Entry]:
        """One URL entry per confirmed location not removed or withdrawn (duplicates of a
        URL allowed: the service merges them)."""
        ...

    def serial(self) -> int:
        """The list's current serial (0 before the first); cheap."""
        ...

    def current(self) -> Snapshot: ...

    def apply(
        self, expected: int, changes: Sequence[Change], events: Sequence[Event], at: datetime
    ) -> bool:
        """Write ``changes`` as serial ``expected + 1`` with ``events``, in one transaction;
        False (nothing written) when the serial is no longer ``expected``."""
        ...

    def changes_since(self, serial: int) -> list[Change]: ...

    def domains(self) -> list[DomainDecision]: ...

    def set_domain(self, decision: DomainDecision, event: Event) -> None: ...

    def lift_domain(self, domain: str, event: Event) -> bool: ...

    def add_appeal(self, target: str, contact: str, reason: str, at: datetime) -> Appeal: ...

    def appeals(self, state: AppealState | None = None) -> list[Appeal]: ...

    def decide_appeal(self, appeal: Appeal, event: Event) -> None: ...
