"""The crawl loop: from seed URLs to hashed sightings handed to a media sink.

Steps of :meth:`Crawler.run`:

1. add the seeds to the frontier (depth 0; already-known seeds are left as they are, so a
   restarted crawl resumes where it stopped), and take back the leases of workers known to be
   dead (:mod:`~keepdown.crawl.workers`);
2. lease due URLs in this worker's name, up to ``crawl_concurrency`` in flight (no pages once
   ``page_limit`` pages were taken, unless ``extend_pages`` grants more; nothing once
   ``crawl_max_bytes`` were downloaded); renew the leases of the URLs in flight every third
   of ``crawl_lease_seconds`` (a URL whose lease was lost anyway is dropped at once);
3. for each URL, fetch it through the guarded fetcher with robots.txt checked at every
   redirect hop, each request holding a politeness slot of its own host; an attempt is
   counted when its first request is sent, and there are no retries inside a try;
4. a page: extract links and media; enqueue links in :class:`CrawlScope` at depth + 1 and every
   media URL with the page as ``via``; then hand the page to the ``page_observers``. A "page"
   whose bytes are an image is media after all;
5. media (:mod:`~keepdown.crawl.media`): hash it in memory, build a :class:`Sighting`, hand
   both to the sink (awaited when the sink is a coroutine), emit :class:`MediaSeen`, drop the
   bytes. A ZIP yields a sighting per image entry. A media URL already hashed in this run is
   not fetched again for the next page;
6. settle the URL with its failure class (:mod:`~keepdown.crawl.failures`): done, failed
   (blocked, robots, 4xx, too large), or back to pending with a ``not_before`` (a network
   error, a 429 or 5xx: exponential backoff from ``crawl_retry_backoff_seconds``, or the
   Retry-After if longer) until ``crawl_max_attempts`` tries were made;
7. stop when nothing is left, a budget is spent, or only far-off retries are left (waiting in
   place for near ones, within ``crawl_max_retry_after_seconds``); ``stats.ended`` says which
   (:class:`RunEnd`). URLs still leased when the run stops are given back (not charged unless
   their request was sent). Running the crawler again on the same frontier resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from keepdown.clock import Clock, SystemClock
from keepdown.crawl.extract import decode_page, extract
from keepdown.crawl.failures import failure_of
from keepdown.crawl.fetcher import RETRY_STATUSES, Fetcher, FetchResult
from keepdown.crawl.frontier import ALREADY_DUE, Frontier, FrontierItem, UrlKind
from keepdown.crawl.leases import LeaseKeeper
from keepdown.crawl.media import MediaPipeline
from keepdown.crawl.mediacache import CachedMedia
from keepdown.crawl.observers import PageObserver, PageSeen, notify_observers
from keepdown.crawl.politeness import Politeness, politeness_from_settings
from keepdown.crawl.robots import RobotsPolicy, RobotsTxtFetcher
from keepdown.crawl.sightings import MediaSink
from keepdown.crawl.sniff import is_html, is_image, is_video
from keepdown.crawl.stats import CrawlStats, RunEnd
from keepdown.crawl.tally import FrontierTally
from keepdown.crawl.transport import Resolver
from keepdown.crawl.urls import CrawlScope, host_of
from keepdown.errors import Conflict, FetchError, KeepdownError
from keepdown.events import EventSink, PageFetched
from keepdown.settings import Settings

log = logging.getLogger("keepdown.crawl")

__all__ = ["CrawlLimits", "CrawlStats", "Crawler", "RunEnd"]

#: Called with the pages started so far when ``page_limit`` is reached: the new limit.
PageExtender = Callable[[int], int]


class _NullEvents:
    def emit(self, event: Any) -> None:
        pass


@dataclass(frozen=True, slots=True)
class CrawlLimits:
    """What one crawl run reads of the settings for itself (its parts, the fetcher, the
    politeness and the media pipeline, read their own): the budget, the sizes and the retry
    rule, built once per run."""

    max_pages: int  #: ``crawl_max_pages``
    max_bytes: int  #: ``crawl_max_bytes``
    concurrency: int  #: ``crawl_concurrency``
    lease_seconds: float  #: ``crawl_lease_seconds``
    max_page_bytes: int  #: ``crawl_max_page_bytes``
    max_media_bytes: int  #: ``crawl_max_media_bytes``
    max_retry_after_seconds: float  #: ``crawl_max_retry_after_seconds``
    retry_backoff_seconds: float  #: ``crawl_retry_backoff_seconds``
    max_attempts: int  #: ``crawl_max_attempts``

    @classmethod
    def from_settings(cls, settings: Settings) -> CrawlLimits:
        return cls(
            max_pages=settings.crawl_max_pages,
            max_bytes=settings.crawl_max_bytes,
            concurrency=settings.crawl_concurrency,
            lease_seconds=float(settings.crawl_lease_seconds),
            max_page_bytes=settings.crawl_max_page_bytes,
            max_media_bytes=settings.crawl_max_media_bytes,
            max_retry_after_seconds=float(settings.crawl_max_retry_after_seconds),
            retry_backoff_seconds=float(settings.crawl_retry_backoff_seconds),
            max_attempts=settings.crawl_max_attempts,
        )


class Crawler:
    """Crawls one scope into one frontier; every effect goes through an injected part."""

    def __init__(
        self,
        settings: Settings,
        *,
        scope: CrawlScope,
        frontier: Frontier,
        sink: MediaSink,
        events: EventSink | None = None,
        crawl_id: str = "",
        fetcher: Fetcher | None = None,
        robots: RobotsPolicy | None = None,
        politeness: Politeness | None = None,
        resolver: Resolver | None = None,
        clock: Clock | None = None,
        page_observers: Sequence[PageObserver] = (),
        extend_pages: PageExtender | None = None,
        robust: Callable[[], bool] | None = None,
    ) -> None:
        self.limits = CrawlLimits.from_settings(settings)
        self.scope = scope
        self.frontier = frontier
        self.sink = sink
        self.events: EventSink = events if events is not None else _NullEvents()
        self.crawl_id = crawl_id
        self.clock = clock or SystemClock()
        self.fetcher = fetcher or Fetcher(settings, resolver=resolver, clock=self.clock)
        self.robots: RobotsPolicy = robots or RobotsTxtFetcher(
            self.fetcher, settings.crawl_user_agent, enabled=settings.crawl_respect_robots
        )
        self.politeness: Politeness = politeness or politeness_from_settings(
            settings, clock=self.clock
        )
        self.page_observers = tuple(page_observers)
        self.page_limit = self.limits.max_pages
        self.extend_pages = extend_pages
        self.stats = CrawlStats()
        self.media = MediaPipeline(
            settings,
            sink=sink,
            events=self.events,
            stats=self.stats,
            crawl_id=crawl_id,
            robust=robust,
        )
        self.tally = FrontierTally(frontier)
        self.leases = LeaseKeeper(
            frontier,
            lease_seconds=self.limits.lease_seconds,
            clock=self.clock,
            stats=self.stats,
        )
        self._leased_at = ALREADY_DUE
        self._extended_at = -1

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        await self.politeness.aclose()

    # --- the loop -----------------------------------------------------------------------

    async def run(self, seeds: Iterable[str] | None = None) -> CrawlStats:
        """Crawl until the frontier is exhausted or a budget is spent (module docstring)."""
        for seed in self.scope.seeds if seeds is None else seeds:
            self.frontier.add(seed, kind=UrlKind.PAGE, depth=0)
        self.leases.reclaim_dead()
        running: dict[asyncio.Task[None], FrontierItem] = {}
        renewer = asyncio.create_task(self.leases.keep(running))
        try:
            return await self._loop(running)
        finally:
            renewer.cancel()
            for task in running:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(renewer, *running, return_exceptions=True)
            self.leases.give_back()

    async def _loop(self, running: dict[asyncio.Task[None], FrontierItem]) -> CrawlStats:
        while True:
            free = self.limits.concurrency - len(running)
            items = self._lease(free) if free > 0 else []
            for item in items:
                running[asyncio.create_task(self._process(item))] = item
            if running:
                done, _ = await asyncio.wait(
                    running, timeout=0.05, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    del running[task]
                    if not task.cancelled():
                        task.result()  # a bug in the crawler itself must not pass silently
            elif not items and (ended := await self._wait_for_due()) is not None:
                self.stats.ended = ended
                return self.stats

    def _over_bytes(self) -> bool:
        budget = self.limits.max_bytes
        return self.tally.bytes(limit=budget) >= budget

    def _may_start_pages(self, started: int) -> bool:
        """Below the page limit, or granted more by ``extend_pages`` (asked once per count)."""
        if started < self.page_limit:
            return True
        if self.extend_pages is not None and started != self._extended_at:
            self._extended_at = started
            self.page_limit = max(self.page_limit, int(self.extend_pages(started)))
        return started < self.page_limit

    def _lease(self, limit: int) -> list[FrontierItem]:
        if self._over_bytes():
            return []
        started = self.tally.pages(limit=self.page_limit)
        kinds = [UrlKind.MEDIA]
        if self._may_start_pages(started):
            kinds.append(UrlKind.PAGE)
            limit = min(limit, max(1, self.page_limit - started))
        self._leased_at = self.clock.now()
        items = self.leases.lease(limit=limit, kinds=kinds)
        self.tally.leased(sum(1 for i in items if i.kind is UrlKind.PAGE and i.attempts == 0))
        return items

    async def _wait_for_due(self) -> RunEnd | None:
        """Sleep until the next item is due (None: go on), or say why the run is over."""
        due = self.frontier.next_due()
        if due is None:
            return RunEnd.EXHAUSTED
        if self._over_bytes():
            return RunEnd.BYTE_BUDGET
        if due <= self._leased_at:
            # Due at the last lease yet not leased: only pages over the page limit are left.
            return RunEnd.PAGE_BUDGET
        wait = (due - self.clock.now()).total_seconds()
        if wait > self.limits.max_retry_after_seconds:
            # Only far-off retries are left: end this run; a later run resumes them.
            self.stats.inc("crawl/paused")
            self.stats.resume_at = due
            return RunEnd.PAUSED
        await asyncio.sleep(min(max(wait, 0.0), 1.0))
        return None

    # --- one URL ------------------------------------------------------------------------

    async def _process(self, item: FrontierItem) -> None:
        try:
            if item.kind is UrlKind.PAGE:
                await self._fetch_and_handle(item)
            else:
                async with self.media.claim(item.url) as cached:
                    if cached is not None:
                        await self._replay(item, cached)
                    else:
                        await self._fetch_and_handle(item)
        except Conflict:
            # Our lease expired and another worker took the URL over: it settles it.
            self.stats.inc("lease/lost")
        # Settled, or someone else's now (a cancelled run gives the URL back instead).
        self.leases.settled(item)

    async def _fetch_and_handle(self, item: FrontierItem) -> None:
        try:
            result = await self._fetch(item)
            item = self.leases.current(item)
            if item.kind is UrlKind.PAGE:
                await self._handle_page(item, result)
            else:
                await self._handle_media(item, result)
        except Conflict:
            raise
        except KeepdownError as exc:
            self._settle_error(self.leases.current(item), exc)

    def _slot(self, url: str) -> AbstractAsyncContextManager[None]:
        """The politeness slot of one hop: its host, and its origin's robots Crawl-delay."""
        return self.politeness.slot(host_of(url), delay=self.robots.crawl_delay(url))

    async def _fetch(self, item: FrontierItem) -> FetchResult:
        limit = (
            self.limits.max_page_bytes if item.kind is UrlKind.PAGE else self.limits.max_media_bytes
        )

        async def charge(_url: str) -> None:
            self.leases.charge(item)  # this try is an attempt once a request is sent

        result = await self.fetcher.fetch(
            item.url,
            max_bytes=limit,
            before_hop=self.robots.check,
            hop_slot=self._slot,
            before_request=charge,
            retries=0,  # retries are new tries through the frontier: counted, slot let go
        )
        self.stats.inc(f"{item.kind.value}/fetched")
        self.stats.inc("bytes", len(result.body))
        self.tally.fetched(len(result.body))
        return result

    def _backoff(self, attempts: int) -> float:
        return self.limits.retry_backoff_seconds * 2.0 ** max(attempts, 0)

    def _settle_error(self, item: FrontierItem, exc: KeepdownError) -> None:
        failure = failure_of(exc)
        self.stats.inc(f"error/{exc.code}")
        self.stats.inc(f"failure/{failure}")
        message = f"{exc.code}: {exc.message}"
        # Only plain network trouble is worth another try: a blocked address, robots.txt, a
        # bad URL or a redirect loop will say the same next time.
        retryable = type(exc) is FetchError and not exc.details.get("permanent")
        if retryable and not self.leases.charged(item):
            # Failed before its own request (robots.txt unreachable): the try still counts,
            # or a dead host would be retried for ever.
            item = self.leases.charge(item)
        if retryable and item.attempts < self.limits.max_attempts:
            when = self.clock.now() + timedelta(seconds=self._backoff(item.attempts))
            self.frontier.retry_later(item, error=message, not_before=when, failure=failure)
            log.info(
                "crawl %s: %s failed (%s), tried again later: %s",
                self.crawl_id,
                item.url,
                failure,
                message,
            )
        else:
            self.frontier.fail(item, error=message, failure=failure)
            log.warning(
                "crawl %s: %s failed for good (%s): %s", self.crawl_id, item.url, failure, message
            )

    def _settle_status(self, item: FrontierItem, result: FetchResult) -> bool:
        """Settle a non-2xx answer; True if the caller should go on with the body. A 429 or
        5xx is tried again after the backoff, or the Retry-After if longer."""
        if result.ok:
            return True
        self.stats.inc(f"status/{result.status}")
        self.stats.inc("failure/http")
        error = f"HTTP {result.status}"
        retry = result.status in RETRY_STATUSES or result.retry_after is not None
        if retry and item.attempts < self.limits.max_attempts:
            wait = max(result.retry_after or 0.0, self._backoff(item.attempts))
            when = self.clock.now() + timedelta(seconds=wait)
            self.frontier.retry_later(item, error=error, not_before=when, failure="http")
            log.info("crawl %s: %s answered %s, tried again later", self.crawl_id, item.url, error)
        else:
            self.frontier.fail(item, error=error, bytes_fetched=len(result.body), failure="http")
            log.warning("crawl %s: %s failed for good (http): %s", self.crawl_id, item.url, error)
        return False

    # --- pages --------------------------------------------------------------------------

    async def _handle_page(self, item: FrontierItem, result: FetchResult) -> None:
        if not self._settle_status(item, result):
            return
        if is_image(result.content_type) or is_video(result.content_type):
            # An image served as a page (often as text/html to dodge filters): the page
            # that linked to it is where it was seen.
            hashed = [("", await self.media.hasher.image(result.body))]
            page_url = item.via or item.url
            await self.media.deliver(
                result, hashed, page_url=page_url, found_by="link (served as a page)"
            )
            self.frontier.complete(item, bytes_fetched=len(result.body))
            return
        links = media = 0
        if is_html(result.content_type):
            text = decode_page(result.body, result.declared_type)
            links, media = self._enqueue_from(item, result, text)
            self._observe(item, result, text)
        self.events.emit(
            PageFetched(
                at=result.fetched_at,
                crawl_id=self.crawl_id,
                url=item.url,
                final_url=result.final_url,
                status=result.status,
                size=len(result.body),
                server_ip=result.server_ip,
                links=links,
                media=media,
            )
        )
        self.frontier.complete(item, bytes_fetched=len(result.body))

    def _enqueue_from(self, item: FrontierItem, result: FetchResult, text: str) -> tuple[int, int]:
        """Links in scope and every media of the page, added to the frontier in one go."""
        found = extract(text, result.final_url)
        depth, via = item.depth + 1, result.final_url
        links = [
            FrontierItem(url=link, kind=UrlKind.PAGE, depth=depth, via=via)
            for link in found.links
            if self.scope.follows(link, depth)
        ]
        media = [
            FrontierItem(
                url=ref.url, kind=UrlKind.MEDIA, depth=depth, via=via, hint=f"{ref.kind}:{ref.via}"
            )
            for ref in found.media
        ]
        added = self.frontier.add_many([*links, *media])
        return sum(added[: len(links)]), len(found.media)

    def _observe(self, item: FrontierItem, result: FetchResult, text: str) -> None:
        if not self.page_observers:
            return
        seen = PageSeen(
            crawl_id=self.crawl_id,
            page_url=item.url,
            final_url=result.final_url,
            fetched_at=result.fetched_at,
            status=result.status,
            server_ip=result.server_ip,
            text=text,
        )
        failed = notify_observers(self.page_observers, seen)
        if failed:
            self.stats.inc("observer/error", failed)

    # --- media --------------------------------------------------------------------------

    async def _replay(self, item: FrontierItem, cached: CachedMedia) -> None:
        """A media URL already hashed in this run, seen on another page: no second fetch."""
        self.stats.inc("media/cache_hit")
        found_by = item.hint.split(":", 1)[-1]
        await self.media.deliver(
            cached.result, list(cached.hashed), page_url=item.via, found_by=found_by
        )
        self.frontier.complete(item)

    async def _handle_media(self, item: FrontierItem, result: FetchResult) -> None:
        if not self._settle_status(item, result):
            return
        size = len(result.body)
        if result.truncated:
            self.stats.inc("media/too_large")
            self.frontier.fail(
                item,
                error="too_large: larger than crawl_max_media_bytes",
                bytes_fetched=size,
                failure="too_large",
            )
            return
        hashed = await self.media.hash(result)
        if hashed is None:
            self.stats.inc("media/not_media")
            self.frontier.fail(
                item,
                error=f"not_media: {result.content_type}",
                bytes_fetched=size,
                failure="not_media",
            )
            return
        self.media.remember(item.url, result, hashed)
        found_by = item.hint.split(":", 1)[-1]
        await self.media.deliver(result, hashed, page_url=item.via, found_by=found_by)
        self.frontier.complete(item, bytes_fetched=size)
