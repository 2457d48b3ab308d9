"""The scan's parts: the match index (with videos), the scanner, and scans as tasks.

- :func:`video_matcher`: the :class:`~keepdown.matching.vpdq.VideoMatcher` around a process's
  bank index, so the API, the crawler, the workers and scans all match videos the same way;
- :func:`scan`: what ``keepdown scan`` runs: storage, the index loaded once, a
  :class:`~keepdown.scan.Scanner`, hashing on the local cores or (``distributed``) as
  ``keepdown.scan_batch`` tasks on the queue;
- :class:`WorkerScanner`: a worker's side of a distributed scan: open the source from its spec
  (once per process), hash and match a batch, give the rows back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from keepdown.app.core import open_services
from keepdown.clock import SystemClock
from keepdown.matching.live import BankIndex
from keepdown.matching.vpdq import VideoMatcher, VpdqIndex, VpdqPolicy
from keepdown.scan import HashOptions, Scanner, ScanSummary, hash_batch, open_source, report_row
from keepdown.scan.sources import Item, Source
from keepdown.settings import Settings
from keepdown.storage import Storage
from keepdown.storage.index_feed import IndexFeed

__all__ = ["WorkerScanner", "scan", "video_matcher"]


def video_matcher(settings: Settings, storage: Storage, index: BankIndex) -> VideoMatcher:
    """``index`` plus the vPDQ entries of the banks (refreshed with it)."""
    vpdq = VpdqIndex(IndexFeed(storage.engine), quality_floor=settings.vpdq_quality_floor)
    matcher = VideoMatcher(index, vpdq, VpdqPolicy.from_settings(settings))
    matcher.refresh()
    return matcher


class _QueuedBatch:
    """A ``keepdown.scan_batch`` task's result, read without waiting."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def rows(self) -> list[dict[str, Any]] | None:
        from huey.exceptions import TaskException

        try:
            return self.result.get(blocking=False)  # type: ignore[no-any-return]
        except TaskException:
            return None  # the task failed for good: the scan re-queues it after the timeout


def scan(
    settings: Settings,
    source: str,
    report: Path,
    *,
    options: HashOptions,
    processes: int | None = None,
    distributed: bool = False,
    fresh: bool = False,
    progress: bool = True,
    batch_timeout: float = 600.0,
) -> ScanSummary:
    """Run one scan (``keepdown scan``); see :mod:`keepdown.scan.runner` for the steps."""
    services = open_services(settings, SystemClock())
    try:
        services.index.refresh()
        matcher = video_matcher(settings, services.storage, services.index)
        submit = None
        if distributed:
            from keepdown.app.workers import open_queue

            queue = open_queue(settings)

            def submit(spec: str, keys: list[str], opts: dict[str, Any]) -> _QueuedBatch:
                return _QueuedBatch(queue.scan_batch(spec, keys, opts))

        scanner = Scanner(
            settings,
            matcher,
            options=options,
            processes=processes,
            submit=submit,
            batch_timeout=batch_timeout,
            progress=progress,
            events=services.storage.events,
        )
        return scanner.run(source, report, fresh=fresh)
    finally:
        close = getattr(services.index, "close", None)
        if close is not None:
            close()
        services.storage.close()


class WorkerScanner:
    """A worker's side of ``keepdown scan --distributed`` (module docstring)."""

    def __init__(self, settings: Settings, matcher: VideoMatcher) -> None:
        self.settings = settings
        self.matcher = matcher
        self._sources: dict[str, Source] = {}

    def batch(self, spec: str, keys: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        source = self._sources.get(spec)
        if source is None:
            source = self._sources[spec] = open_source(spec, self.settings)
        items = [Item(key) for key in keys]
        hashed = hash_batch(source, items, self.settings, HashOptions.from_dict(options))
        return [
            report_row(h, self.matcher.match_result(h.result) if h.result is not None else [])
            for h in hashed
        ]
