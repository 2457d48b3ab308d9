"""Hash what the crawler fetched, in memory and off the event loop.

:class:`MediaHasher` is the crawler's one way to hashes: an image (MD5, SHA-1, SHA-256 and
PDQ in ``hash_mode``, with the 8 dihedral variants when ``match_dihedral``, and the robust
query variants when ``robust`` says the crawl door wants them), a ZIP archive
(each image entry, within :class:`ArchiveLimits`) and a video. Every kind arrives here
already bounded by ``crawl_max_media_bytes`` (the fetcher cuts a larger response and the
crawler fails it as ``too_large``), so a video costs at most that many bytes of memory.

Video: :meth:`MediaHasher.video` gives the exact hashes today (PDQ fails with a
``pdq_error``, as for any non-image); the video hashing of ``keepdown.hashing.video`` plugs in
there, and only there, without touching the crawl loop. PDQ is CPU work: it runs on a worker
thread so the event loop keeps fetching meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from keepdown.crawl.archive_limits import ArchiveLimits
from keepdown.crawl.archives import ArchiveReport, iter_archive_images
from keepdown.crawl.stats import CrawlStats
from keepdown.hashing import HashResult, hash_bytes
from keepdown.settings import Settings

__all__ = ["MediaHasher"]


class MediaHasher:
    def __init__(
        self, settings: Settings, stats: CrawlStats, robust: Callable[[], bool] | None = None
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.robust = robust or _never
        self.archive_limits = ArchiveLimits.for_crawl(settings)

    def _hash_now(self, data: bytes) -> HashResult:
        return hash_bytes(
            data,
            settings=self.settings,
            mode=self.settings.hash_mode,
            dihedral=self.settings.match_dihedral,
            robust=self.robust(),
        )

    def _count(self, hashes: HashResult) -> HashResult:
        self.stats.inc("media/hashed")
        if hashes.pdq_error is not None:
            self.stats.inc(f"media/pdq_error/{hashes.pdq_error.code}")
        return hashes

    async def image(self, data: bytes) -> HashResult:
        return self._count(await asyncio.to_thread(self._hash_now, data))

    async def video(self, data: bytes) -> HashResult:
        """Exact hashes of a video (the seam for video hashing, module docstring)."""
        return self._count(await asyncio.to_thread(self._hash_now, data))

    async def archive(self, data: bytes) -> list[tuple[str, HashResult]]:
        """``(entry name, hashes)`` per image entry of a ZIP."""
        report = ArchiveReport()
        hashed = [
            (name, await self.image(member))
            for name, member in iter_archive_images(data, self.archive_limits, report)
        ]
        self.stats.inc("archive/skipped_entries", len(report.skipped))
        return hashed


def _never() -> bool:
    return False
