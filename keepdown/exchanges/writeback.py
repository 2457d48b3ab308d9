"""Write-back: a bank an operator chose to publish goes to an exchange, audited per submission.

Publishing is an explicit choice per bank and exchange connection (a feed of that exchange,
whose credentials it uses), made by an admin and audited where it is made (CLI, API). A
:class:`Publication` remembers it; :class:`WriteBackPlanner` turns the bank's entries added
since the last plan into submissions of up to ``batch`` hashes, recorded in the outbox with
the cursor in one transaction (:mod:`keepdown.exchanges.outbox`); the sender delivers each with
a write-ahead audit record (``exchange.submit``: written ``started`` before the request,
settled ``ok`` or ``failed`` after), and a :class:`~keepdown.events.HashesSubmitted` event.

Rules:

- a bank filled by a feed is never published (third parties' lists are theirs to share, and
  publishing one back would loop);
- only exchanges that accept submissions (StopNCII ``SubmitHashes``, ThreatExchange
  descriptors) and only the signal types they take;
- what a StopNCII submission says is a state keyed by the hash (sending it twice adds nothing),
  so an interrupted one is sent again; a ThreatExchange descriptor is a new object, so an
  interrupted one becomes ``uncertain`` for an operator to check (never posted twice blindly);
- removals are not sent: neither exchange documents a way for a member to withdraw a hash it
  submitted (``docs/exchanges.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from keepdown.errors import ExchangeError
from keepdown.exchanges.clients.stopncii import SUBMIT_TYPE as STOPNCII_TYPES
from keepdown.exchanges.clients.threatexchange import SUBMIT_TYPE as TE_TYPES
from keepdown.exchanges.model import FeedKind
from keepdown.exchanges.outbox import OutboxItem, OutboxKind, OutboxStore, Planned
from keepdown.hashing.types import SignalType

__all__ = [
    "Publication",
    "PublicationStore",
    "WriteBackPlanner",
    "deliver_submission",
    "idempotent",
    "takes",
]

#: Signal types each exchange accepts in a submission.
ACCEPTS: dict[str, frozenset[str]] = {
    FeedKind.STOPNCII: frozenset(str(s) for s in STOPNCII_TYPES),
    FeedKind.THREATEXCHANGE: frozenset(str(s) for s in TE_TYPES),
}


def takes(kind: str) -> frozenset[str]:
    """The signal types a submission to ``kind`` may carry (empty: no write-back there)."""
    return ACCEPTS.get(str(kind), frozenset())


def idempotent(item: OutboxItem) -> bool:
    """Whether sending ``item`` again leaves the exchange as sending it once (module rules)."""
    if item.kind is OutboxKind.FEEDBACK:
        return True
    return item.message.get("exchange") == FeedKind.STOPNCII


@dataclass(frozen=True)
class Publication:
    """A bank published to one exchange connection (module docstring)."""

    id: int
    bank: str
    bank_id: int
    feed: str  # the exchange connection: a feed of that exchange
    feed_id: int
    exchange: str
    enabled: bool
    tags: tuple[str, ...]
    opted_in_by: str
    opted_in_at: datetime
    updated_at: datetime

    @property
    def cursor_name(self) -> str:
        return f"publication:{self.id}"


class PublicationStore(Protocol):
    """Publications and the entries they send (``keepdown.storage.publication_store``)."""

    def publish(
        self, bank: str, feed: str, by: str, tags: Sequence[str], now: datetime
    ) -> Publication: ...

    def stop(self, bank: str, feed: str, now: datetime) -> Publication: ...

    def publications(self, *, enabled_only: bool = False) -> list[Publication]: ...

    def entries_after(
        self, bank_id: int, after_id: int, signal_types: Sequence[str], limit: int
    ) -> list[tuple[int, str, str]]:
        """(id, signal type, value) of the bank's active entries above ``after_id``."""
        ...


@dataclass
class WriteBackPlanner:
    """Plans submissions of published banks (module docstring)."""

    publications: PublicationStore
    outbox: OutboxStore
    batch: int = 100
    tags: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def plan(self, now: datetime, *, limit: int = 50) -> int:
        """Plan up to ``limit`` submissions per publication; how many were recorded."""
        planned = 0
        for pub in self.publications.publications(enabled_only=True):
            for _ in range(limit):
                made = self._next(pub, now)
                if not made:
                    break
                planned += made
        return planned

    def _next(self, pub: Publication, now: datetime) -> int:
        position = self.outbox.cursor(pub.cursor_name)
        rows = self.publications.entries_after(
            pub.bank_id, position, sorted(takes(pub.exchange)), self.batch
        )
        if not rows:
            return 0
        first, last = rows[0][0], rows[-1][0]
        plan = Planned(
            kind=OutboxKind.SUBMISSION,
            feed_id=pub.feed_id,
            target=f"publication:{pub.id}:{first}-{last}",
            message={
                "exchange": pub.exchange,
                "items": [[signal_type, value] for _id, signal_type, value in rows],
                "tags": list(pub.tags),
            },
            because={
                "bank": pub.bank,
                "publication": pub.id,
                "first": first,
                "last": last,
                "by": pub.opted_in_by,
            },
        )
        return self.outbox.record([plan], now, cursor=(pub.cursor_name, position, last))


def deliver_submission(kind: str, client: Any, message: Mapping[str, Any]) -> None:
    """Send one planned submission through the connection's client."""
    items = [(SignalType(s), v) for s, v in message["items"]]
    tags = [str(t) for t in message.get("tags", [])]
    if kind == FeedKind.STOPNCII:
        client.submit_hashes(items, tags)
    elif kind == FeedKind.THREATEXCHANGE:
        for signal_type, value in items:
            client.submit_descriptor(signal_type, value, tags)
    else:
        raise ExchangeError(f"{kind} takes no submissions", permanent=True)
