"""The crawl frontier: every URL a crawl knows of, and its state, so a crawl can be resumed.

States and moves::

    add ──► pending ──lease──► in_progress ──complete──► done
               ▲                 │   │
               │   retry_later   │   └──fail──► failed
               └─────────────────┘
               └── lease expired (worker died) ── unless attempts reached max_attempts: failed

A lease carries a token and an expiry. A worker that crashes mid-fetch leaves its items
in_progress; once the lease expires the next :meth:`Frontier.lease` hands them out again. A
worker whose lease expired and was taken over cannot complete or fail the item any more
(:class:`~keepdown.errors.Conflict`), so nothing is recorded twice. Nothing ``done`` is ever
leased again: kill a crawl at any moment, restart it, and no finished URL is fetched twice.

Keys: a page is known once per crawl (by URL). A media URL is known once *per page it was
seen on*, because each (page, media) pair is a sighting of its own.

This module holds the protocol and :class:`InMemoryFrontier`, the twin the tests drive; the
storage layer implements the same protocol on SQL for crawls that outlive a process.
"""

from __future__ import annotations

import heapq
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from keepdown.errors import Conflict, NotFound

__all__ = ["ALREADY_DUE", "Frontier", "FrontierItem", "InMemoryFrontier", "UrlKind", "UrlState"]


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
    bytes decide in the end. ``lease_token`` is set while leased.
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
    ) -> list[FrontierItem]:
        """Take up to ``limit`` due items (pending with ``not_before <= now``, or leased with
        an expired lease), mark them in_progress with a fresh token, count an attempt.
        Media comes before pages, then shallower before deeper, then first added first."""
        ...

    def complete(self, item: FrontierItem, *, bytes_fetched: int = 0) -> None:
        """Mark a leased item done. :class:`Conflict` if the lease was lost."""
        ...

    def retry_later(self, item: FrontierItem, *, error: str, not_before: datetime) -> None:
        """Return a leased item to pending, due at ``not_before`` (Retry-After, backoff)."""
        ...

    def fail(self, item: FrontierItem, *, error: str, bytes_fetched: int = 0) -> None:
        """Mark a leased item failed for good."""
        ...

    def get(self, url: str, *, kind: UrlKind = UrlKind.PAGE, via: str = "") -> FrontierItem:
        """The item with that key; :class:`NotFound` if unknown."""
        ...

    def count(
        self, *, kinds: Iterable[UrlKind] | None = None, states: Iterable[UrlState] | None = None
    ) -> int: ...

    def bytes_fetched(self) -> int:
        """Bytes downloaded by finished items (the crawl's byte budget reads this)."""
        ...

    def next_due(self) -> datetime | None:
        """When the earliest not-yet-due item becomes due (pending ``not_before`` or lease
        expiry); None when nothing is pending or in progress: the crawl is over."""
        ...


class InMemoryFrontier:
    """The frontier in memory: one process, one crawl (tests, benchmarks, ``--memory``).

    Every operation the crawl loop makes per URL is O(log n): items due now wait in a heap per
    kind (ordered by depth, then insertion), held-back ones in a heap by ``not_before``, leases
    in a heap by expiry; heap entries are checked against the item when popped (a stale entry
    is skipped). Counts per (kind, state) and the bytes fetched are kept as the items change.
    A crawl of 60,000 URLs would otherwise spend hours rescanning the dict.
    """

    def __init__(self, *, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self._items: dict[tuple[str, str, str], FrontierItem] = {}
        self._order: dict[tuple[str, str, str], int] = {}
        self._ready: dict[UrlKind, list[tuple[int, int, tuple[str, str, str]]]] = {
            kind: [] for kind in UrlKind
        }
        self._later: list[tuple[datetime, int, tuple[str, str, str]]] = []
        self._leases: list[tuple[datetime, int, tuple[str, str, str]]] = []
        self._counts: Counter[tuple[UrlKind, UrlState]] = Counter()
        self._bytes = 0

    def _put(self, item: FrontierItem) -> None:
        """Store ``item`` (new or changed), keeping the counts and the heaps current."""
        old = self._items.get(item.key)
        if old is not None:
            self._counts[(old.kind, old.state)] -= 1
            self._bytes -= old.bytes_fetched
        self._items[item.key] = item
        self._counts[(item.kind, item.state)] += 1
        self._bytes += item.bytes_fetched
        order = self._order[item.key]
        if item.state is UrlState.PENDING:
            if item.not_before is None:
                heapq.heappush(self._ready[item.kind], (item.depth, order, item.key))
            else:
                heapq.heappush(self._later, (item.not_before, order, item.key))
        elif item.state is UrlState.IN_PROGRESS and item.lease_expires is not None:
            heapq.heappush(self._leases, (item.lease_expires, order, item.key))

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
        item = FrontierItem(
            url=url, kind=kind, depth=depth, via=via, hint=hint, not_before=not_before
        )
        if item.key in self._items:
            return False
        self._order[item.key] = len(self._order)
        self._put(item)
        return True

    def add_many(self, items: Sequence[FrontierItem]) -> list[bool]:
        return [self.add(i.url, kind=i.kind, depth=i.depth, via=i.via, hint=i.hint) for i in items]

    def _due(self, item: FrontierItem, now: datetime) -> bool:
        if item.state is UrlState.PENDING:
            return item.not_before is None or item.not_before <= now
        return (
            item.state is UrlState.IN_PROGRESS
            and item.lease_expires is not None
            and item.lease_expires <= now
        )

    def _promote(self, now: datetime) -> None:
        """Move what became due by ``now`` (held-back items, expired leases) to the ready heaps."""
        for heap in (self._later, self._leases):
            while heap and heap[0][0] <= now:
                _, order, key = heapq.heappop(heap)
                item = self._items[key]
                if self._due(item, now):
                    heapq.heappush(self._ready[item.kind], (item.depth, order, key))

    def lease(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        kinds: Iterable[UrlKind] = (UrlKind.PAGE, UrlKind.MEDIA),
    ) -> list[FrontierItem]:
        self._promote(now)
        wanted = set(kinds)
        leased: list[FrontierItem] = []
        for kind in (UrlKind.MEDIA, UrlKind.PAGE):  # media first, as on SQL
            heap = self._ready[kind]
            while kind in wanted and heap and len(leased) < limit:
                item = self._items[heapq.heappop(heap)[2]]
                if not self._due(item, now):
                    continue  # a stale entry: the item moved on since it was queued
                if item.state is UrlState.IN_PROGRESS and item.attempts >= self.max_attempts:
                    self._put(
                        replace(
                            item,
                            state=UrlState.FAILED,
                            lease_token=None,
                            lease_expires=None,
                            last_error=item.last_error or "lease expired on every attempt",
                        )
                    )
                    continue
                fresh = replace(
                    item,
                    state=UrlState.IN_PROGRESS,
                    attempts=item.attempts + 1,
                    lease_token=secrets.token_hex(8),
                    lease_expires=now + timedelta(seconds=lease_seconds),
                )
                self._put(fresh)
                leased.append(fresh)
        return leased

    def _holding(self, item: FrontierItem) -> FrontierItem:
        current = self._items.get(item.key)
        if current is None:
            raise NotFound(f"{item.url} is not in this frontier", url=item.url)
        if current.state is not UrlState.IN_PROGRESS or current.lease_token != item.lease_token:
            raise Conflict(
                f"lease on {item.url} was lost (it expired and was handed out again)",
                url=item.url,
                state=current.state.value,
            )
        return current

    def _settle(self, item: FrontierItem, **changes: object) -> None:
        current = self._holding(item)
        self._put(
            replace(
                current,
                lease_token=None,
                lease_expires=None,
                **changes,  # type: ignore[arg-type]
            )
        )

    def complete(self, item: FrontierItem, *, bytes_fetched: int = 0) -> None:
        self._settle(item, state=UrlState.DONE, bytes_fetched=bytes_fetched, last_error=None)

    def retry_later(self, item: FrontierItem, *, error: str, not_before: datetime) -> None:
        if item.attempts >= self.max_attempts:
            self.fail(item, error=error)
            return
        self._settle(item, state=UrlState.PENDING, last_error=error, not_before=not_before)

    def fail(self, item: FrontierItem, *, error: str, bytes_fetched: int = 0) -> None:
        self._settle(item, state=UrlState.FAILED, last_error=error, bytes_fetched=bytes_fetched)

    def get(self, url: str, *, kind: UrlKind = UrlKind.PAGE, via: str = "") -> FrontierItem:
        key = (kind.value, url, via if kind is UrlKind.MEDIA else "")
        try:
            return self._items[key]
        except KeyError:
            raise NotFound(f"{url} is not in this frontier", url=url) from None

    def count(
        self, *, kinds: Iterable[UrlKind] | None = None, states: Iterable[UrlState] | None = None
    ) -> int:
        kind_set = set(kinds) if kinds is not None else set(UrlKind)
        state_set = set(states) if states is not None else set(UrlState)
        return sum(self._counts[(k, s)] for k in kind_set for s in state_set)

    def bytes_fetched(self) -> int:
        return self._bytes

    def next_due(self) -> datetime | None:
        times = [
            (i.not_before if i.state is UrlState.PENDING else i.lease_expires) or ALREADY_DUE
            for i in self._items.values()
            if i.state in (UrlState.PENDING, UrlState.IN_PROGRESS)
        ]
        return min(times, default=None)

    def items(self) -> list[FrontierItem]:
        """Every item, in the order they were added (for tests and reports)."""
        return sorted(self._items.values(), key=lambda i: self._order[i.key])
