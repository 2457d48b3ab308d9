"""The crawl frontier in memory: :class:`InMemoryFrontier` (one process, one crawl).

The twin of the SQL frontier (``keepdown.storage.frontier_store``): tests, benchmarks and
``--memory`` crawls use it, and ``tests/crawl/test_frontier.py`` runs the same protocol tests on
both. The states, leases and attempts are described in :mod:`keepdown.crawl.frontier`.
"""

from __future__ import annotations

import heapq
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from keepdown.crawl.frontier import (
    ALREADY_DUE,
    DIED_EVERY_ATTEMPT,
    FrontierItem,
    UrlKind,
    UrlState,
)
from keepdown.errors import Conflict, NotFound

__all__ = ["InMemoryFrontier"]


def _same_lease(current: FrontierItem, held: FrontierItem) -> bool:
    return current.state is UrlState.IN_PROGRESS and current.lease_token == held.lease_token


def _given_up(item: FrontierItem) -> FrontierItem:
    """A lease lost on the last allowed attempt: the URL kills workers, give it up."""
    return replace(
        item,
        state=UrlState.FAILED,
        lease_token=None,
        lease_expires=None,
        lease_owner="",
        last_error=item.last_error or DIED_EVERY_ATTEMPT,
        failure=item.failure or "worker_died",
    )


def _given_back(item: FrontierItem, max_attempts: int) -> FrontierItem:
    """A lease given back: pending again, or given up if its last attempt was spent."""
    if item.attempts >= max_attempts:
        return _given_up(item)
    return replace(
        item, state=UrlState.PENDING, lease_token=None, lease_expires=None, lease_owner=""
    )


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
        owner: str = "",
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
                    self._put(_given_up(item))
                    continue
                fresh = replace(
                    item,
                    state=UrlState.IN_PROGRESS,
                    lease_token=secrets.token_hex(8),
                    lease_expires=now + timedelta(seconds=lease_seconds),
                    lease_owner=owner,
                )
                self._put(fresh)
                leased.append(fresh)
        return leased

    def charge(self, item: FrontierItem) -> FrontierItem:
        current = self._holding(item)
        charged = replace(current, attempts=current.attempts + 1)
        self._items[item.key] = charged  # counts and heaps do not depend on attempts
        return charged

    def renew(
        self, items: Sequence[FrontierItem], *, now: datetime, lease_seconds: float
    ) -> list[FrontierItem]:
        lost = []
        for item in items:
            current = self._items.get(item.key)
            if current is None or not _same_lease(current, item):
                lost.append(item)
                continue
            self._put(replace(current, lease_expires=now + timedelta(seconds=lease_seconds)))
        return lost

    def release(self, items: Sequence[FrontierItem]) -> None:
        for item in items:
            current = self._items.get(item.key)
            if current is not None and _same_lease(current, item):
                self._put(_given_back(current, self.max_attempts))

    def reclaim(self, owner_is_dead: Callable[[str], bool]) -> int:
        dead = [
            item
            for item in self._items.values()
            if item.state is UrlState.IN_PROGRESS
            and item.lease_owner
            and owner_is_dead(item.lease_owner)
        ]
        for item in dead:
            self._put(_given_back(item, self.max_attempts))
        return len(dead)

    def _holding(self, item: FrontierItem) -> FrontierItem:
        current = self._items.get(item.key)
        if current is None:
            raise NotFound(f"{item.url} is not in this frontier", url=item.url)
        if not _same_lease(current, item):
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
                lease_owner="",
                **changes,  # type: ignore[arg-type]
            )
        )

    def complete(self, item: FrontierItem, *, bytes_fetched: int = 0) -> None:
        self._settle(
            item, state=UrlState.DONE, bytes_fetched=bytes_fetched, last_error=None, failure=""
        )

    def retry_later(
        self, item: FrontierItem, *, error: str, not_before: datetime, failure: str = ""
    ) -> None:
        if self._holding(item).attempts >= self.max_attempts:
            self.fail(item, error=error, failure=failure)
            return
        self._settle(
            item, state=UrlState.PENDING, last_error=error, not_before=not_before, failure=failure
        )

    def fail(
        self, item: FrontierItem, *, error: str, bytes_fetched: int = 0, failure: str = ""
    ) -> None:
        self._settle(
            item,
            state=UrlState.FAILED,
            last_error=error,
            bytes_fetched=bytes_fetched,
            failure=failure,
        )

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

    def pages_started(self) -> int:
        started = (UrlState.IN_PROGRESS, UrlState.DONE, UrlState.FAILED)
        return sum(
            1
            for i in self._items.values()
            if i.kind is UrlKind.PAGE and (i.state in started or i.attempts > 0)
        )

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
