"""The URLs one crawler holds, and the rules that keep a URL from being fetched twice.

1. A crawler leases URLs in its own name (:func:`~keepdown.crawl.workers.this_worker`), and
   first takes back the leases of workers it knows are dead (a restart after ``kill -9`` on
   the same machine does not wait for them to expire).
2. A try of a URL is charged as an attempt once, just before its first request is sent
   (:meth:`LeaseKeeper.charge`); a URL that was leased and never requested costs nothing.
3. While URLs are in flight their leases are renewed every third of ``lease_seconds``, so a
   slow fetch (a hanging server, a long politeness wait) never outlives its lease and is never
   handed to a second worker. A URL whose lease was lost anyway (the process was frozen
   longer than the lease) is cancelled at once: the new holder settles it.
4. When a run stops (its end, Ctrl-C, a turn over), the URLs still held are given back:
   pending again, with the attempts their requests cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from keepdown.clock import Clock
from keepdown.crawl.frontier import Frontier, FrontierItem, UrlKind
from keepdown.crawl.stats import CrawlStats
from keepdown.crawl.workers import known_dead, this_worker

__all__ = ["LeaseKeeper"]

Key = tuple[str, str, str]


@dataclass
class _Held:
    """A URL held: the item as last seen, and whether this try was charged."""

    item: FrontierItem
    charged: bool = False


class LeaseKeeper:
    """Leases of one crawler on one frontier (module docstring)."""

    def __init__(
        self, frontier: Frontier, *, lease_seconds: float, clock: Clock, stats: CrawlStats
    ) -> None:
        self.frontier = frontier
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.stats = stats
        self.owner = this_worker()
        self._held: dict[Key, _Held] = {}

    def reclaim_dead(self) -> int:
        """Step 1: the leases of workers known dead, back to pending."""
        reclaimed = self.frontier.reclaim(known_dead)
        if reclaimed:
            self.stats.inc("lease/reclaimed", reclaimed)
        return reclaimed

    def lease(self, *, limit: int, kinds: Iterable[UrlKind]) -> list[FrontierItem]:
        items = self.frontier.lease(
            now=self.clock.now(),
            limit=limit,
            lease_seconds=self.lease_seconds,
            kinds=kinds,
            owner=self.owner,
        )
        for item in items:
            self._held[item.key] = _Held(item)
        return items

    def current(self, item: FrontierItem) -> FrontierItem:
        """The item as last seen (its attempts after a charge)."""
        held = self._held.get(item.key)
        return held.item if held is not None else item

    def charged(self, item: FrontierItem) -> bool:
        held = self._held.get(item.key)
        return held is not None and held.charged

    def charge(self, item: FrontierItem) -> FrontierItem:
        """Step 2: count this try as an attempt, once. :class:`Conflict` if the lease is lost."""
        held = self._held.setdefault(item.key, _Held(item))
        if not held.charged:
            held.item = self.frontier.charge(held.item)
            held.charged = True
        return held.item

    def settled(self, item: FrontierItem) -> None:
        """The URL was settled (or taken over): no longer ours."""
        self._held.pop(item.key, None)

    async def keep(self, running: Mapping[asyncio.Task[None], FrontierItem]) -> None:
        """Step 3, until cancelled: renew what is in flight; cancel what was lost."""
        every = max(self.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            tasks = {item.key: task for task, item in running.items()}
            held = [self._held[key].item for key in tasks if key in self._held]
            if not held:
                continue
            lost = self.frontier.renew(held, now=self.clock.now(), lease_seconds=self.lease_seconds)
            for item in lost:
                self.stats.inc("lease/lost")
                self.settled(item)
                tasks[item.key].cancel()

    def give_back(self) -> int:
        """Step 4: every URL still held, pending again."""
        count = len(self._held)
        if count:
            self.frontier.release([held.item for held in self._held.values()])
            self.stats.inc("lease/released", count)
            self._held.clear()
        return count
