"""The crawl parts of the runtime: stores, the match chain, host attribution, one crawl turn.

:func:`crawl_services` builds them for :attr:`keepdown.app.runtime.Runtime.crawling`
(``keepdown crawl``, ``keepdown report`` and the crawl tasks use those); the crawler itself
and its SQL frontier live in :mod:`keepdown.crawl` and :mod:`keepdown.storage.crawl_store`.

:class:`CrawlTurn` is the one implementation of a worker's turn on one crawl, used by the
foreground worker (``keepdown crawl``: turns of ``crawl_turn_pages`` that give way to a
waiting crawl) and by the task workers (``keepdown.crawl`` slices of
``worker_crawl_slice_urls`` pages or ``worker_crawl_slice_seconds``). Only the bounds differ
(:class:`TurnBounds`). At the end of a turn the crawl becomes:

- ``done`` (with a reason): its frontier is exhausted, or its page or byte budget is spent;
- ``paused`` until its first retry is due, when only far-off retries are left (a long
  Retry-After): the other crawls run meanwhile;
- ``pending`` again ("turn over"): its turn is over and work is left for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from keepdown.app.accountability import finance_observer
from keepdown.app.runtime import Runtime
from keepdown.clock import Clock
from keepdown.crawl.attribution import Attributor
from keepdown.crawl.crawler import Crawler, PageExtender
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.crawl.observers import PageObserver
from keepdown.crawl.outcome import CrawlSummary
from keepdown.crawl.stats import CrawlStats, RunEnd
from keepdown.crawl.transport import Resolver
from keepdown.matching.chain import MatchChain
from keepdown.notices.attribution import RdapClient, RegistryAttributor
from keepdown.settings import Settings
from keepdown.storage import Storage
from keepdown.storage.crawl_outcomes import crawl_summary
from keepdown.storage.crawl_store import (
    CrawlRecord,
    CrawlStore,
    ReportStore,
    SightingRecorder,
    SqlFrontier,
)
from keepdown.storage.provider_store import SqlProviderStore

__all__ = [
    "CrawlServices",
    "CrawlTurn",
    "TurnBounds",
    "TurnEnd",
    "TurnWatcher",
    "crawl_services",
    "open_crawl_services",
    "registry_attributor",
]


@dataclass
class CrawlServices:
    """What ``keepdown crawl``, ``keepdown report`` and the crawl tasks need: stores, the
    runtime's match chain, attribution.

    :meth:`crawler` builds the :class:`Crawler` of one stored crawl: its SQL frontier, and a
    :class:`SightingRecorder` that matches through the match chain (door ``crawl``) and
    attributes hosts through ``attributor`` (the registry + RDAP of keepdown.notices by
    default). ``page_observers`` get every fetched HTML page (:class:`PageSeen`): this is where
    the composition root plugs in readers of pages such as the financial indicators.
    """

    settings: Settings
    storage: Storage
    crawls: CrawlStore
    reports: ReportStore
    matcher: MatchChain
    attributor: Attributor
    clock: Clock
    runtime: Runtime
    resolver: Resolver | None = None
    page_observers: Sequence[PageObserver] = field(default_factory=tuple)

    def crawler(
        self, crawl: CrawlRecord, *, extend_pages: PageExtender | None = None
    ) -> tuple[Crawler, SightingRecorder]:
        settings = self.settings.replace(
            crawl_max_pages=crawl.max_pages, crawl_max_bytes=crawl.max_bytes
        )
        recorder = SightingRecorder(
            self.storage.engine,
            crawl.id,
            matcher=functools.partial(self.matcher.match_result, door="crawl"),
            attributor=self.attributor,
            events=self.storage.events,
            clock_now=self.clock.now,
        )
        crawler = Crawler(
            settings,
            scope=crawl.scope,
            frontier=self.crawls.frontier(crawl.id),
            sink=recorder,
            events=self.storage.events,
            crawl_id=str(crawl.id),
            resolver=self.resolver,
            clock=self.clock,
            page_observers=self.page_observers,
            extend_pages=extend_pages,
            robust=functools.partial(self.matcher.wants_robust, "crawl"),
        )
        return crawler, recorder

    def summary(self, crawl_id: int) -> CrawlSummary:
        """What became of one crawl (:mod:`keepdown.crawl.outcome`), its failing hosts too."""
        return crawl_summary(self.storage.engine, crawl_id)

    def close(self) -> None:
        """Close the runtime these parts belong to."""
        self.runtime.close()


def crawl_services(runtime: Runtime) -> CrawlServices:
    """The crawl parts of ``runtime`` (:attr:`Runtime.crawling` builds them once)."""
    settings, storage = runtime.settings, runtime.storage
    crawls = CrawlStore(storage.engine, settings)
    return CrawlServices(
        settings=settings,
        storage=storage,
        crawls=crawls,
        reports=ReportStore(storage.engine, crawls),
        matcher=runtime.matcher,
        attributor=registry_attributor(settings, storage, resolver=runtime.resolver),
        clock=runtime.clock,
        runtime=runtime,
        resolver=runtime.resolver,
        # The payment indicators of every page (keepdown.finance).
        page_observers=(finance_observer(settings, storage),),
    )


def open_crawl_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    attributor: Attributor | None = None,
    resolver: Resolver | None = None,
    page_observers: Sequence[PageObserver] = (),
) -> CrawlServices:
    """The crawl parts of a new :class:`Runtime` (closed with ``.close()``); ``attributor``
    replaces the registry's, ``page_observers`` come after the financial indicators'."""
    services = Runtime(settings, clock=clock, resolver=resolver).crawling
    return replace(
        services,
        attributor=attributor or services.attributor,
        page_observers=(*services.page_observers, *page_observers),
    )


def registry_attributor(
    settings: Settings, storage: Storage, *, resolver: Resolver | None = None
) -> Attributor:
    """The provider registry, then RDAP when ``rdap_base_url`` is set (keepdown.notices)."""
    rdap = RdapClient(settings, resolver=resolver) if settings.rdap_base_url else None
    return RegistryAttributor(SqlProviderStore(storage.engine).list_providers, rdap=rdap)


# --- one turn on one crawl ------------------------------------------------------------------

_STARTED = (UrlState.IN_PROGRESS, UrlState.DONE, UrlState.FAILED)


@dataclass(frozen=True)
class TurnBounds:
    """How far one turn may go; None means no such bound.

    ``pages``: pages the turn may start in all; ``step``: pages granted at a time, after which
    the turn gives way when ``give_way`` and another crawl is waiting; ``seconds``: how long
    the turn may take (no new page after that)."""

    pages: int | None = None
    step: int | None = None
    seconds: float | None = None
    give_way: bool = False

    @classmethod
    def foreground(cls, settings: Settings, pages_left: int | None) -> TurnBounds:
        """``keepdown crawl``: ``crawl_turn_pages`` at a time, then give way; ``--max-pages``."""
        step = settings.crawl_turn_pages
        return cls(pages=pages_left, step=step if step > 0 else None, give_way=True)

    @classmethod
    def slice(cls, settings: Settings) -> TurnBounds:
        """A ``keepdown.crawl`` task: ``worker_crawl_slice_urls`` pages or ``..._seconds``."""
        urls = max(1, settings.worker_crawl_slice_urls)
        return cls(pages=urls, step=urls, seconds=settings.worker_crawl_slice_seconds)


@dataclass(frozen=True)
class TurnEnd:
    """How a turn left its crawl: ``state`` (done, paused, pending), why, and its pages."""

    state: str
    reason: str
    pages: int
    stats: CrawlStats

    @property
    def more(self) -> bool:
        """True when the crawl has work left for another turn now."""
        return self.state == "pending"

    @property
    def note(self) -> str:
        return self.reason if self.state == "pending" else f"{self.state}: {self.reason}"


class TurnWatcher(Protocol):
    """Follows a running turn (the foreground worker's progress line)."""

    def attach(self, crawler: Crawler, recorder: SightingRecorder, frontier: Any) -> None:
        """Called once the turn's crawler is built, before it runs."""

    async def follow(self) -> None:
        """Runs next to the crawler until the turn cancels it."""


class CrawlTurn:
    """One worker turn on one crawl: how many pages it may take, and what it leaves.

    ``exclude`` names crawls that do not count as waiting (the foreground worker's crawls
    whose ``--max-pages`` is spent)."""

    def __init__(
        self,
        services: CrawlServices,
        crawl: CrawlRecord,
        bounds: TurnBounds,
        *,
        exclude: Collection[int] = (),
    ) -> None:
        self.services = services
        self.crawl = crawl
        self.bounds = bounds
        self.exclude = exclude
        self.frontier: SqlFrontier = services.crawls.frontier(crawl.id)
        self.started = self._pages_started()
        self.deadline = time.monotonic() + bounds.seconds if bounds.seconds is not None else None

    def _pages_started(self) -> int:
        return self.frontier.count(kinds=[UrlKind.PAGE], states=_STARTED)

    def limit(self, started: int) -> int:
        """The page limit from ``started`` on: the crawl's budget, the step, the turn's pages."""
        cap = self.crawl.max_pages
        if self.bounds.step is not None:
            cap = min(cap, started + self.bounds.step)
        if self.bounds.pages is not None:
            cap = min(cap, self.started + self.bounds.pages)
        return cap

    def extend(self, started: int) -> int:
        """Asked by the crawler at the limit: go on, unless spent, late, or giving way."""
        more = self.limit(started)
        if more <= started:
            return started  # the crawl's budget, or this turn's, is spent
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return started
        if self.bounds.give_way and self.services.crawls.others_waiting(
            self.crawl.id, now=self.services.clock.now(), exclude=self.exclude
        ):
            return started
        return more

    async def run(self, watcher: TurnWatcher | None = None) -> TurnEnd:
        """Run the turn and record in the crawl's state how it ended."""
        self.services.crawls.start_turn(self.crawl.id, now=self.services.clock.now())
        crawler, recorder = self.services.crawler(self.crawl, extend_pages=self.extend)
        crawler.page_limit = self.limit(self.started)
        helpers = []
        if self.deadline is not None:
            helpers.append(asyncio.create_task(self._time_limit(crawler)))
        if watcher is not None:
            watcher.attach(crawler, recorder, self.frontier)
            helpers.append(asyncio.create_task(watcher.follow()))
        try:
            stats = await crawler.run()
        finally:
            for helper in helpers:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            await crawler.aclose()
        return self.settle(stats)

    async def _time_limit(self, crawler: Crawler) -> None:
        assert self.deadline is not None
        await asyncio.sleep(max(0.0, self.deadline - time.monotonic()))
        crawler.page_limit = 0  # no new page: the crawler asks extend(), which says no

    def settle(self, stats: CrawlStats) -> TurnEnd:
        """Record how the turn ended in the crawl's state (module docstring)."""
        crawls, crawl = self.services.crawls, self.crawl
        pages = self._pages_started()
        state = "done"
        if stats.ended is RunEnd.EXHAUSTED:
            reason = "frontier exhausted"
        elif stats.ended is RunEnd.BYTE_BUDGET:
            reason = f"byte budget spent ({crawl.max_bytes} bytes)"
        elif stats.ended is RunEnd.PAGE_BUDGET and pages >= crawl.max_pages:
            reason = f"page budget spent ({crawl.max_pages} pages)"
        elif stats.ended is RunEnd.PAUSED and stats.resume_at is not None:
            state = "paused"
            reason = f"only retries due later are left (first at {stats.resume_at:%H:%M:%S})"
            crawls.pause(crawl.id, until=stats.resume_at, reason=reason)
        else:
            state, reason = "pending", "turn over"
            crawls.end_turn(crawl.id, reason=reason)
        if state == "done":
            crawls.finish(crawl.id, now=self.services.clock.now(), reason=reason)
        return TurnEnd(state, reason, pages - self.started, stats)
