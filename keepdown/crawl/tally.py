"""Pages started and bytes fetched by a crawl, without asking the frontier at every turn.

The crawl loop checks its budgets each time it leases (once per finished URL). On the SQL
frontier each check is an aggregate over the crawl's rows, so asking every time makes a
60,000-URL crawl quadratic. :class:`FrontierTally` reads the frontier at most every
``every`` seconds and counts what this run leased and downloaded in between; when the local
figure reaches a budget it reads the frontier again before the crawler acts on it, so a budget
is never declared spent on an estimate. (Between two reads, other workers' progress is not
seen: with several workers a budget may be overshot by what they did in that second.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from keepdown.crawl.frontier import Frontier, UrlState

__all__ = ["FrontierTally"]

_STARTED = (UrlState.IN_PROGRESS, UrlState.DONE, UrlState.FAILED)


class FrontierTally:
    def __init__(
        self,
        frontier: Frontier,
        *,
        every: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.frontier = frontier
        self.every = every
        self.monotonic = monotonic
        self._read_at = float("-inf")
        self._pages = self._bytes = 0

    def refresh(self) -> FrontierTally:
        self._pages = self.frontier.pages_started()
        self._bytes = self.frontier.bytes_fetched()
        self._read_at = self.monotonic()
        return self

    def _fresh(self) -> FrontierTally:
        if self.monotonic() - self._read_at >= self.every:
            self.refresh()
        return self

    def pages(self, limit: int | None = None) -> int:
        """Pages started (leased, done or failed); exact whenever it reaches ``limit``."""
        if (pages := self._fresh()._pages) >= (limit if limit is not None else pages + 1):
            pages = self.refresh()._pages
        return pages

    def bytes(self, limit: int | None = None) -> int:
        """Bytes downloaded; exact whenever it reaches ``limit``."""
        if (fetched := self._fresh()._bytes) >= (limit if limit is not None else fetched + 1):
            fetched = self.refresh()._bytes
        return fetched

    def leased(self, pages: int) -> None:
        self._pages += pages

    def fetched(self, size: int) -> None:
        self._bytes += size
