"""The crawl frontier: every URL a crawl knows of, and its state, so a crawl can be resumed.

States and moves::

    add ──► pending ──lease──► in_progress ──complete──► done
               ▲                 │   │
               │   retry_later   │   └──fail──► failed
               └─────────────────┘
               └── release (a worker stopping), reclaim (its worker is known dead), or the
                   lease expired ── unless attempts reached max_attempts: failed

**Attempts count requests made, not leases.** A lease only reserves a URL; the worker calls
:meth:`Frontier.charge` just before it sends the URL's first request of a try. A URL leased
and never requested (the worker was waiting for the host's politeness slot when it stopped or
died) is handed out again with its attempts unchanged. A URL whose request was sent and whose
worker died is charged, so a URL that kills workers is given up after ``max_attempts``.

A lease carries a token, an expiry and its worker (``owner``, see
:mod:`keepdown.crawl.workers`). A live worker keeps its leases with :meth:`Frontier.renew`
while it works on them, so a slow fetch is never handed to a second worker; a worker that
crashes stops renewing, and its leases expire (``lease_seconds``), or are taken back at once
by :meth:`Frontier.reclaim` when a restarted worker on the same machine can tell that their
owner is dead. A worker whose lease was taken over cannot complete or fail the item any more
(:class:`~keepdown.errors.Conflict`), so nothing is recorded twice. Nothing ``done`` is ever
leased again: kill a crawl at any moment, restart it, and no finished URL is fetched twice.

A failed or retried URL keeps ``last_error`` (for people) and ``failure`` (its class, for
counting: ``dns``, ``refused``, ``timeout``, ``blocked``, ``robots``, ``http``... see
:mod:`keepdown.crawl.failures`).

Keys: a page is known once per crawl (by URL). A media URL is known once *per page it was
seen on*, because each (page, media) pair is a sighting of its own.

This module holds the protocol; :class:`keepdown.crawl.memory_frontier.InMemoryFrontier` is the
twin the tests drive, and the storage layer implements the same protocol on SQL for crawls that
outlive a process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

__all__ = [
    "ALREADY_DUE",
    "DIED_EVERY_ATTEMPT",
    "Frontier",
    "FrontierItem",
    "UrlKind",
    "UrlState",
]


ALREADY_DUE = datetime.min.replace(tzinfo=UTC)  # next_due() of an item due at once


class UrlState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"


class UrlKind(StrEnum):
    PAGE = "page"
    MEDIA = "media"


@dataclass(frozen=True)
class FrontierItem:
    """One URL of a crawl. ``via`` is the page that linked to it ("" for a seed).

    ``hint`` is what the page suggested the media is (image, video, archive); the fetched
    bytes decide in the end. ``lease_token`` and ``lease_owner`` are set while leased;
    ``attempts`` counts the tries whose request was sent; ``failure`` is the class of
    ``last_error``.
    """

    url: str
    kind: UrlKind
    depth: int
    via: str = ""
    hint: str = ""
    state: UrlState = UrlState.PENDING
    not_before: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    lease_token: str | None = None
    lease_expires: datetime | None = None
    bytes_fetched: int = 0
    failure: str = ""
    lease_owner: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.url, self.via if self.kind is UrlKind.MEDIA else "")


class Frontier(Protocol):
    """What the crawler needs from a frontier (in memory here, SQL in storage)."""

    def add(
        self,
        url: str,
        *,
        kind: UrlKind,
        depth: int,
        via: str = "",
        hint: str = "",
        not_before: datetime | None = None,
    ) -> bool:
        """Record a URL as pending; False (and no change) if its key is already known."""
        ...

    def add_many(self, items: Sequence[FrontierItem]) -> list[bool]:
        """:meth:`add` for each new item (url, kind, depth, via, hint), in one go."""
        ...

    def lease(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        kinds: Iterable[UrlKind] = (UrlKind.PAGE, UrlKind.MEDIA),
        owner: str = "",
    ) -> list[FrontierItem]:
        """Take up to ``limit`` due items (pending with ``not_before <= now``, or leased with
        an expired lease), mark them in_progress with a fresh token and ``owner``. No attempt
        is counted (:meth:`charge` does, when a request is sent). An expired lease of an item
        out of attempts fails it instead. Media comes before pages, then shallower before
        deeper, then first added first."""
        ...

    def charge(self, item: FrontierItem) -> FrontierItem:
        """Count an attempt: a request for this leased item is about to be sent. Answers the
        item as it now is; :class:`Conflict` if the lease was lost."""
        ...

    def renew(
        self, items: Sequence[FrontierItem], *, now: datetime, lease_seconds: float
    ) -> list[FrontierItem]:
        """Extend the leases still held to ``now + lease_seconds``; answers the items whose
        lease was lost (another worker has them now: stop working on them)."""
        ...

    def release(self, items: Sequence[FrontierItem]) -> None:
        """Give leased items back (a worker stopping): pending again, attempts unchanged.
        Items whose lease was lost meanwhile are left alone."""
        ...

    def reclaim(self, owner_is_dead: Callable[[str], bool]) -> int:
        """Give back every lease whose owner ``owner_is_dead`` says is certainly gone (as if
        released; failed if it was out of attempts). Answers how many."""
        ...

    def complete(self, item: FrontierItem, *, bytes_fetched: int = 0) -> None:
        """Mark a leased item done. :class:`Conflict` if the lease was lost."""
        ...

    def retry_later(
        self, item: FrontierItem, *, error: str, not_before: datetime, failure: str = ""
    ) -> None:
        """Return a leased item to pending, due at ``not_before`` (Retry-After, backoff);
        failed instead when it is out of attempts."""
        ...

    def fail(
        self, item: FrontierItem, *, error: str, bytes_fetched: int = 0, failure: str = ""
    ) -> None:
        """Mark a leased item failed for good."""
        ...

    def get(self, url: str, *, kind: UrlKind = UrlKind.PAGE, via: str = "") -> FrontierItem:
        """The item with that key; :class:`NotFound` if unknown."""
        ...

    def count(
        self, *, kinds: Iterable[UrlKind] | None = None, states: Iterable[UrlState] | None = None
    ) -> int: ...

    def pages_started(self) -> int:
        """Pages ever handed to a worker: in progress, done, failed, or pending again after a
        try whose request was sent (``attempts`` > 0: waiting for its retry). The page budget
        counts these, so a page waiting for a retry keeps its place in the budget."""
        ...

    def bytes_fetched(self) -> int:
        """Bytes downloaded by finished items (the crawl's byte budget reads this)."""
        ...

    def next_due(self) -> datetime | None:
        """When the earliest not-yet-due item becomes due (pending ``not_before`` or lease
        expiry); None when nothing is pending or in progress: the crawl is over."""
        ...


#: ``last_error`` of a URL whose lease ran out (its worker died) on its last attempt.
DIED_EVERY_ATTEMPT = "lease expired on every attempt"
