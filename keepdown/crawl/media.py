"""What the crawler does with a media response: hash it once, hand each sighting to the sink.

:class:`MediaPipeline` holds the per-run state of media handling:

- **one fetch per URL**: while one task fetches a media URL, the others that met the same URL
  on other pages wait for its outcome (:meth:`claim`), then replay the cached hashes
  (:mod:`~keepdown.crawl.mediacache`, hashes only) instead of fetching again;
- **hashing by what the bytes are**: a ZIP gives one result per image entry, an image or a
  video one result (:class:`~keepdown.crawl.hasher.MediaHasher`), anything else is not media;
- **delivery**: a :class:`Sighting` per result to the sink (awaited when it is a coroutine)
  and a :class:`MediaSeen` event; then the bytes are dropped by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable

from keepdown.crawl.fetcher import FetchResult
from keepdown.crawl.hasher import MediaHasher
from keepdown.crawl.mediacache import CachedMedia, MediaCache
from keepdown.crawl.sightings import MediaSink, build_sighting
from keepdown.crawl.sniff import is_image, is_video, is_zip
from keepdown.crawl.stats import CrawlStats
from keepdown.events import EventSink, MediaSeen
from keepdown.hashing import HashResult
from keepdown.settings import Settings

__all__ = ["Hashed", "MediaPipeline"]

#: ``(archive member or "", hashes)`` per image of one response.
Hashed = list[tuple[str, HashResult]]


class MediaPipeline:
    def __init__(
        self,
        settings: Settings,
        *,
        sink: MediaSink,
        events: EventSink,
        stats: CrawlStats,
        crawl_id: str,
        robust: Callable[[], bool] | None = None,
    ) -> None:
        self.sink = sink
        self.events = events
        self.stats = stats
        self.crawl_id = crawl_id
        self.hasher = MediaHasher(settings, stats, robust)
        self.cache = MediaCache(settings.crawl_media_cache_entries)
        self._fetching: dict[str, asyncio.Event] = {}

    @contextlib.asynccontextmanager
    async def claim(self, url: str) -> AsyncIterator[CachedMedia | None]:
        """The cached outcome for ``url``, or None and the right to fetch it."""
        while (busy := self._fetching.get(url)) is not None:
            await busy.wait()
        cached = self.cache.get(url)
        if cached is not None:
            yield cached
            return
        done = self._fetching[url] = asyncio.Event()
        try:
            yield None
        finally:
            del self._fetching[url]
            done.set()

    async def hash(self, result: FetchResult) -> Hashed | None:
        """The hashes of every image (or video) in the response; None if it is not media."""
        kind = result.content_type
        if is_zip(kind):
            return await self.hasher.archive(result.body)
        if is_image(kind):
            return [("", await self.hasher.image(result.body))]
        if is_video(kind):
            return [("", await self.hasher.video(result.body))]
        return None

    def remember(self, url: str, result: FetchResult, hashed: Hashed) -> None:
        self.cache.put(url, result, hashed)

    async def deliver(
        self, result: FetchResult, hashed: Hashed, *, page_url: str, found_by: str
    ) -> None:
        for member, hashes in hashed:
            sighting = build_sighting(
                self.crawl_id, result, hashes, page_url=page_url, found_by=found_by, member=member
            )
            accepted = self.sink.accept(sighting, hashes)
            if inspect.isawaitable(accepted):
                await accepted
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
