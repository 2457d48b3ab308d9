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

import secrets
from collections.abc import Iterable
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
    """The frontier in a dict: one process, one crawl. Tests and ``keepdown crawl --memory``."""

    def __init__(self, *, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self._items: dict[tuple[str, str, str], FrontierItem] = {}
        self._order: dict[tuple[str, str, str], int] = {}

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
        self._items[item.key] = item
        self._order[item.key] = len(self._order)
        return True

    def _due(self, item: FrontierItem, now: datetime) -> bool:
        if item.state is UrlState.PENDING:
            return item.not_before is None or item.not_before <= now
        return (
            item.state is UrlState.IN_PROGRESS
            and item.lease_expires is not None
            and item.lease_expires <= now
        )

    def lease(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        kinds: Iterable[UrlKind] = (UrlKind.PAGE, UrlKind.MEDIA),
    ) -> list[FrontierItem]:
        wanted = set(kinds)
        due = [i for i in self._items.values() if i.kind in wanted and self._due(i, now)]
        due.sort(key=lambda i: (i.kind is UrlKind.PAGE, i.depth, self._order[i.key]))
        leased: list[FrontierItem] = []
        for item in due:
            if len(leased) >= limit:
                break
            if item.state is UrlState.IN_PROGRESS and item.attempts >= self.max_attempts:
                self._items[item.key] = replace(
                    item,
                    state=UrlState.FAILED,
                    lease_token=None,
                    lease_expires=None,
                    last_error=item.last_error or "lease expired on every attempt",
                )
                continue
            fresh = replace(
                item,
                state=UrlState.IN_PROGRESS,
                attempts=item.attempts + 1,
                lease_token=secrets.token_hex(8),
                lease_expires=now + timedelta(seconds=lease_seconds),
            )
            self._items[item.key] = fresh
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
        self._items[item.key] = replace(
            current,
            lease_token=None,
            lease_expires=None,
            **changes,  # type: ignore[arg-type]
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
        return sum(1 for i in self._items.values() if i.kind in kind_set and i.state in state_set)

    def bytes_fetched(self) -> int:
        return sum(i.bytes_fetched for i in self._items.values())

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
