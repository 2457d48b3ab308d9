"""The crawl loop: from seed URLs to hashed sightings handed to a media sink.

Steps of :meth:`Crawler.run`:

1. add the seeds to the frontier (depth 0; already-known seeds are left as they are, so a
   restarted crawl resumes where it stopped);
2. lease due URLs, up to ``crawl_concurrency`` in flight (no pages once ``crawl_max_pages``
   pages were taken, nothing once ``crawl_max_bytes`` were downloaded);
3. for each URL, wait for a per-host politeness slot, then fetch it through the guarded
   fetcher with robots.txt checked at every redirect hop;
4. a page: extract links and media; enqueue links in :class:`Scope` at depth + 1 and every
   media URL with the page as ``via``. A "page" whose bytes are an image is media after all;
5. media: hash it in memory (``keepdown.hashing.hash_bytes``, mode from settings, dihedral
   variants when ``match_dihedral``), build a :class:`Sighting`, hand both to the sink, emit
   :class:`MediaSeen`, drop the bytes. A ZIP yields a sighting per image entry. A media URL
   already hashed in this run is not fetched again for the next page (:mod:`mediacache`);
6. settle the URL: done, failed (blocked, robots, 4xx, too large), or back to pending with a
   ``not_before`` (a Retry-After too long to wait for, a network error) until
   ``crawl_max_attempts``;
7. stop when nothing is pending or leased; wait for ``not_before`` times that are near
   (within ``crawl_max_retry_after_seconds``); if only later ones are left, stop too (the
   ``crawl/paused`` stat): running the crawler again on the same frontier resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from keepdown.clock import Clock, SystemClock
from keepdown.crawl.archives import ArchiveLimits, ArchiveReport, iter_archive_images
from keepdown.crawl.extract import extract
from keepdown.crawl.fetcher import Fetcher, FetchResult
from keepdown.crawl.frontier import ALREADY_DUE, Frontier, FrontierItem, UrlKind, UrlState
from keepdown.crawl.mediacache import CachedMedia, MediaCache
from keepdown.crawl.politeness import InMemoryPoliteness, Politeness
from keepdown.crawl.robots import RobotsPolicy, RobotsTxtFetcher
from keepdown.crawl.sightings import MediaSink, build_sighting
from keepdown.crawl.sniff import is_html, is_image, is_video, is_zip
from keepdown.crawl.transport import Resolver
from keepdown.crawl.urls import Scope, host_of
from keepdown.errors import Conflict, FetchError, KeepdownError
from keepdown.events import EventSink, MediaSeen, PageFetched
from keepdown.hashing import HashResult, hash_bytes
from keepdown.settings import Settings

__all__ = ["CrawlStats", "Crawler"]


@dataclass
class CrawlStats:
    """Counters of one run, keyed like scrapy stats (``page/fetched``, ``media/hashed``...)."""

    counts: dict[str, int] = field(default_factory=dict)

    def inc(self, key: str, by: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + by

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)


class _NullEvents:
    def emit(self, event: Any) -> None:
        pass


class Crawler:
    """Crawls one scope into one frontier; every effect goes through an injected part."""

    def __init__(
        self,
        settings: Settings,
        *,
        scope: Scope,
        frontier: Frontier,
        sink: MediaSink,
        events: EventSink | None = None,
        crawl_id: str = "",
        fetcher: Fetcher | None = None,
        robots: RobotsPolicy | None = None,
        politeness: Politeness | None = None,
        resolver: Resolver | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
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
        self.politeness: Politeness = politeness or InMemoryPoliteness.from_settings(
            settings, clock=self.clock
        )
        self.archive_limits = ArchiveLimits.from_settings(settings)
        self.media_cache = MediaCache(settings.crawl_media_cache_entries)
        self._fetching: dict[str, asyncio.Event] = {}
        self.stats = CrawlStats()
        self._leased_at = ALREADY_DUE

    async def aclose(self) -> None:
        await self.fetcher.aclose()

    # --- the loop -----------------------------------------------------------------------

    async def run(self, seeds: Iterable[str] | None = None) -> CrawlStats:
        """Crawl until the frontier is exhausted or a budget is spent (module docstring)."""
        for seed in self.scope.seeds if seeds is None else seeds:
            self.frontier.add(seed, kind=UrlKind.PAGE, depth=0)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = int(self.settings.crawl_concurrency) - len(running)
                items = self._lease(free) if free > 0 else []
                for item in items:
                    running.add(asyncio.create_task(self._process(item)))
                if running:
                    done, running = await asyncio.wait(
                        running, timeout=0.05, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        task.result()  # a bug in the crawler itself must not pass silently
                elif not items and not await self._wait_for_due():
                    return self.stats
        finally:
            for task in running:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*running, return_exceptions=True)

    def _lease(self, limit: int) -> list[FrontierItem]:
        if self.frontier.bytes_fetched() >= self.settings.crawl_max_bytes:
            return []
        started = self.frontier.count(
            kinds=[UrlKind.PAGE], states=[UrlState.IN_PROGRESS, UrlState.DONE, UrlState.FAILED]
        )
        kinds = [UrlKind.MEDIA]
        if started < self.settings.crawl_max_pages:
            kinds.append(UrlKind.PAGE)
            limit = min(limit, max(1, self.settings.crawl_max_pages - started))
        self._leased_at = self.clock.now()
        return self.frontier.lease(
            now=self._leased_at,
            limit=limit,
            lease_seconds=self.settings.crawl_lease_seconds,
            kinds=kinds,
        )

    async def _wait_for_due(self) -> bool:
        """Sleep until the next item is due; False when the crawl is over (or over budget)."""
        due = self.frontier.next_due()
        if due is None or self.frontier.bytes_fetched() >= self.settings.crawl_max_bytes:
            return False
        if due <= self._leased_at:
            # Due at the last lease yet not leased: only pages over the page budget are left.
            return False
        wait = (due - self.clock.now()).total_seconds()
        if wait > self.settings.crawl_max_retry_after_seconds:
            # Only far-off retries are left: end this run; a later run resumes them.
            self.stats.inc("crawl/paused")
            return False
        await asyncio.sleep(min(max(wait, 0.0), 1.0))
        return True

    # --- one URL ------------------------------------------------------------------------

    async def _process(self, item: FrontierItem) -> None:
        try:
            if item.kind is UrlKind.PAGE:
                await self._fetch_and_handle(item)
                return
            async with self._media_claim(item.url) as cached:
                if cached is not None:
                    self._replay(item, cached)
                else:
                    await self._fetch_and_handle(item)
        except Conflict:
            # Our lease expired and another worker took the URL over: it settles it.
            self.stats.inc("lease/lost")

    async def _fetch_and_handle(self, item: FrontierItem) -> None:
        try:
            result = await self._fetch(item)
            if item.kind is UrlKind.PAGE:
                await self._handle_page(item, result)
            else:
                await self._handle_media(item, result)
        except Conflict:
            raise
        except KeepdownError as exc:
            self._settle_error(item, exc)

    @contextlib.asynccontextmanager
    async def _media_claim(self, url: str) -> AsyncIterator[CachedMedia | None]:
        """The cached outcome for ``url``, or None and the right to fetch it: while one task
        fetches a media URL, others with the same URL (other pages) wait for its outcome."""
        while (busy := self._fetching.get(url)) is not None:
            await busy.wait()
        cached = self.media_cache.get(url)
        if cached is not None:
            yield cached
            return
        done = self._fetching[url] = asyncio.Event()
        try:
            yield None
        finally:
            del self._fetching[url]
            done.set()

    async def _fetch(self, item: FrontierItem) -> FetchResult:
        limit = (
            self.settings.crawl_max_page_bytes
            if item.kind is UrlKind.PAGE
            else self.settings.crawl_max_media_bytes
        )
        delay = self.robots.crawl_delay(item.url)
        async with self.politeness.slot(host_of(item.url), delay=delay):
            result = await self.fetcher.fetch(
                item.url, max_bytes=limit, before_hop=self.robots.check
            )
        self.stats.inc(f"{item.kind.value}/fetched")
        self.stats.inc("bytes", len(result.body))
        return result

    def _settle_error(self, item: FrontierItem, exc: KeepdownError) -> None:
        self.stats.inc(f"error/{exc.code}")
        message = f"{exc.code}: {exc.message}"
        # Only plain network trouble is worth another try: a blocked address, robots.txt, a
        # bad URL or a redirect loop will say the same next time.
        retryable = type(exc) is FetchError and not exc.details.get("permanent")
        if retryable and item.attempts < self.settings.crawl_max_attempts:
            backoff = self.settings.crawl_retry_backoff_seconds * (2**item.attempts)
            when = self.clock.now() + timedelta(seconds=backoff)
            self.frontier.retry_later(item, error=message, not_before=when)
        else:
            self.frontier.fail(item, error=message)

    def _settle_status(self, item: FrontierItem, result: FetchResult) -> bool:
        """Settle a non-2xx answer; True if the caller should go on with the body."""
        if result.ok:
            return True
        self.stats.inc(f"status/{result.status}")
        if result.retry_after is not None and item.attempts < self.settings.crawl_max_attempts:
            when = self.clock.now() + timedelta(seconds=result.retry_after)
            self.frontier.retry_later(item, error=f"HTTP {result.status}", not_before=when)
        else:
            self.frontier.fail(item, error=f"HTTP {result.status}", bytes_fetched=len(result.body))
        return False

    async def _handle_page(self, item: FrontierItem, result: FetchResult) -> None:
        if not self._settle_status(item, result):
            return
        if is_image(result.content_type) or is_video(result.content_type):
            # An image served as a page (often as text/html to dodge filters): the page
            # that linked to it is where it was seen.
            hashed = [("", await self._hash(result.body))]
            self._sink_all(
                result, hashed, page_url=item.via or item.url, found_by="link (served as a page)"
            )
            self.frontier.complete(item, bytes_fetched=len(result.body))
            return
        links = media = 0
        if is_html(result.content_type):
            links, media = self._enqueue_from(item, result)
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

    def _enqueue_from(self, item: FrontierItem, result: FetchResult) -> tuple[int, int]:
        found = extract(result.body, result.final_url)
        links = 0
        for link in found.links:
            if self.scope.follows(link, item.depth + 1):
                links += self.frontier.add(
                    link, kind=UrlKind.PAGE, depth=item.depth + 1, via=result.final_url
                )
        for ref in found.media:
            self.frontier.add(
                ref.url,
                kind=UrlKind.MEDIA,
                depth=item.depth + 1,
                via=result.final_url,
                hint=f"{ref.kind}:{ref.via}",
            )
        return links, len(found.media)

    def _replay(self, item: FrontierItem, cached: CachedMedia) -> None:
        """A media URL already hashed in this run, seen on another page: no second fetch."""
        self.stats.inc("media/cache_hit")
        self._sink_all(
            cached.result,
            list(cached.hashed),
            page_url=item.via,
            found_by=item.hint.split(":", 1)[-1],
        )
        self.frontier.complete(item)

    async def _handle_media(self, item: FrontierItem, result: FetchResult) -> None:
        if not self._settle_status(item, result):
            return
        size = len(result.body)
        if result.truncated:
            self.stats.inc("media/too_large")
            self.frontier.fail(
                item, error="too_large: larger than crawl_max_media_bytes", bytes_fetched=size
            )
            return
        if is_zip(result.content_type):
            hashed = await self._hash_archive(result.body)
        elif is_image(result.content_type) or is_video(result.content_type):
            hashed = [("", await self._hash(result.body))]
        else:
            self.stats.inc("media/not_media")
            self.frontier.fail(item, error=f"not_media: {result.content_type}", bytes_fetched=size)
            return
        self.media_cache.put(item.url, result, hashed)
        self._sink_all(result, hashed, page_url=item.via, found_by=item.hint.split(":", 1)[-1])
        self.frontier.complete(item, bytes_fetched=size)

    async def _hash_archive(self, data: bytes) -> list[tuple[str, HashResult]]:
        report = ArchiveReport()
        hashed = [
            (name, await self._hash(member))
            for name, member in iter_archive_images(data, self.archive_limits, report)
        ]
        self.stats.inc("archive/skipped_entries", len(report.skipped))
        return hashed

    async def _hash(self, data: bytes) -> HashResult:
        """Hash off the event loop (PDQ is CPU work); dihedral variants for the matcher."""
        hashes = await asyncio.to_thread(
            hash_bytes,
            data,
            settings=self.settings,
            mode=self.settings.hash_mode,
            dihedral=bool(self.settings.match_dihedral),
        )
        self.stats.inc("media/hashed")
        if hashes.pdq_error is not None:
            self.stats.inc(f"media/pdq_error/{hashes.pdq_error.code}")
        return hashes

    def _sink_all(
        self,
        result: FetchResult,
        hashed: list[tuple[str, HashResult]],
        *,
        page_url: str,
        found_by: str,
    ) -> None:
        for member, hashes in hashed:
            sighting = build_sighting(
                self.crawl_id, result, hashes, page_url=page_url, found_by=found_by, member=member
            )
            self.sink.accept(sighting, hashes)
            self.stats.inc("media/sighting")
            self.events.emit(
                MediaSeen(
                    at=sighting.seen_at,
                    crawl_id=self.crawl_id,
                    page_url=page_url,
                    media_url=result.url,
                    sha256=sighting.sha256,
                    pdq=sighting.pdq,
                    size=sighting.size,
                    content_type=sighting.content_type,
                    server_ip=sighting.server_ip,
                    archive_member=member,
                )
            )
