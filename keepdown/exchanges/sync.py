"""One run of a feed: page through the exchange and land each page with its checkpoint.

:meth:`FeedSync.run`, for one feed:

1. take the feed's lease (one worker at a time; a killed worker's lease expires after
   ``lease_seconds`` and the next dispatch takes the feed over);
2. build the feed's client (its secrets are read from the environment now);
3. page from the stored checkpoint (the next pages are fetched on a thread of their own
   while this one writes: network, parsing and database overlap); pages are buffered up to
   ``batch_records`` records (or
   ``flush_seconds``, or the end of a run) and applied together with the checkpoint of the
   last one, in ONE transaction (:meth:`~keepdown.exchanges.model.FeedStore.apply_page`);
   the lease is extended at each apply. A run stops after ``max_seconds`` (the rest is the
   next run's, queued at once) so one huge feed never holds a worker for hours;
4. end the run with the feed's status: ``idle`` (next run in ``every_seconds``),
   ``retrying`` (a transient failure: back-off, or the exchange's ``Retry-After``),
   ``stalled`` (a page that cannot be read: an operator decides) or ``failed`` (refused
   credentials, bad options: fix them and the next run goes on);
5. record one :class:`~keepdown.events.FeedSynced` event.

An exception anywhere (the exchange, the database, a bug, ``kill -9``) loses at most the
buffered pages: the database holds the last checkpoint applied, and the next run fetches
again from there. Re-applying records changes nothing (last writer wins), so a resumed fetch
ends with exactly the bank an uninterrupted one would have.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from keepdown.clock import Clock
from keepdown.errors import ConfigurationError, ExchangeError, InvalidInput, KeepdownError
from keepdown.events import EventSink, FeedSynced
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.model import Feed, FeedStatus, FeedStore, PageResult
from keepdown.exchanges.protocol import ExchangeClient, Page, PageStalled
from keepdown.exchanges.records import ExchangeRecord, RecordError

__all__ = ["FeedSync", "SyncLimits", "SyncReport", "worker_name"]

log = logging.getLogger("keepdown.exchanges")


def worker_name() -> str:
    """This process's name in leases: host and pid."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass(frozen=True)
class SyncLimits:
    """How a run paces itself (module docstring)."""

    lease_seconds: float = 300.0
    batch_records: int = 10_000
    flush_seconds: float = 1.0
    max_seconds: float | None = 600.0
    retry_seconds: float = 60.0  # first back-off after a transient failure (doubles)


@dataclass
class SyncReport:
    """What one run did."""

    feed: str
    status: FeedStatus = FeedStatus.IDLE
    result: PageResult = field(default_factory=PageResult)
    pages: int = 0
    caught_up: bool = False
    error: str = ""
    skipped: bool = False  # another worker holds the feed


class _Buffer:
    """Pages waiting to be applied together (step 3)."""

    def __init__(self) -> None:
        self.records: list[ExchangeRecord | RecordError] = []
        self.checkpoint: Checkpoint | None = None
        self.reconcile: int | None = None
        self.pages = 0
        self.since = time.monotonic()

    def add(self, page: Page) -> None:
        self.records.extend(page.records)
        self.checkpoint = page.checkpoint
        self.pages += 1
        if page.ends_full_fetch:
            self.reconcile = page.checkpoint.generation


class _Prefetch:
    """The next pages fetched on a thread of their own while this one writes the last: the
    network, the parsing and the database overlap (socket reads and SQLite release the GIL).
    At most ``depth`` pages wait; leaving the ``with`` stops the fetching thread first."""

    _DONE = object()

    def __init__(self, pages: Iterator[Page], depth: int = 2) -> None:
        self.pages = pages
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="keepdown-feed-fetch", daemon=True)

    def __enter__(self) -> Iterator[Page]:
        self.thread.start()
        return self._iter()

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=0.05)  # unblock a producer waiting to put
        self.thread.join()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for page in self.pages:
                if not self._put(page):
                    return
        except BaseException as exc:  # handed over to the consuming thread
            self._put(_Failure(exc))
        else:
            self._put(self._DONE)

    def _iter(self) -> Iterator[Page]:
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item


@dataclass
class _Failure:
    error: BaseException


class FeedSync:
    """Runs feeds (module docstring). ``make_client`` builds a feed's exchange client."""

    def __init__(
        self,
        store: FeedStore,
        events: EventSink,
        clock: Clock,
        make_client: Callable[[Feed], ExchangeClient],
        *,
        owner: str | None = None,
        limits: SyncLimits | None = None,
        on_applied: Callable[[Feed, PageResult], None] | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.make_client = make_client
        self.owner = owner or worker_name()
        self.limits = limits or SyncLimits()
        self.on_applied = on_applied  # e.g. refresh this process's match index at once

    def run(self, feed: Feed) -> SyncReport:
        report = SyncReport(feed.name)
        now = self.clock.now()
        if not self.store.take_lease(feed.id, self.owner, now, self._lease_end()):
            report.skipped = True
            return report
        started = time.monotonic()
        next_run = now + timedelta(seconds=feed.every_seconds)
        try:
            client = self.make_client(feed)
            try:
                self._pages(feed, client, report, started)
            finally:
                client.close()
            if not report.caught_up:
                next_run = self.clock.now()  # stopped at max_seconds: go on soon
        except BaseException as exc:  # every failure ends the run with a status (step 4)
            next_run = self._failed(feed, report, exc)
            if not isinstance(exc, Exception):
                self._release(feed, report, next_run)
                raise  # KeyboardInterrupt, SystemExit: the lease is released, then go
        self._release(feed, report, next_run)
        self._record(feed, report, time.monotonic() - started)
        return report

    def _pages(
        self, feed: Feed, client: ExchangeClient, report: SyncReport, started: float
    ) -> None:
        state = self.store.get_state(feed.id)
        with _Prefetch(client.pages(state.checkpoint)) as pages:
            buffer = _Buffer()
            for page in pages:
                buffer.add(page)
                if self._due(buffer, page):
                    self._apply(feed, buffer, report)
                    buffer = _Buffer()
                    limit = self.limits.max_seconds
                    if (
                        limit is not None
                        and time.monotonic() - started > limit
                        and not page.ends_run
                    ):
                        return
            if buffer.pages:
                self._apply(feed, buffer, report)
        report.caught_up = True

    def _due(self, buffer: _Buffer, page: Page) -> bool:
        return (
            page.ends_run
            or page.ends_full_fetch
            or len(buffer.records) >= self.limits.batch_records
            or time.monotonic() - buffer.since >= self.limits.flush_seconds
        )

    def _apply(self, feed: Feed, buffer: _Buffer, report: SyncReport) -> None:
        assert buffer.checkpoint is not None
        now = self.clock.now()
        result = self.store.apply_page(
            feed, buffer.records, buffer.checkpoint, now, reconcile=buffer.reconcile
        )
        report.result = report.result + result
        report.pages += buffer.pages
        self._extend(feed)
        if self.on_applied is not None and result.changed_entries:
            self.on_applied(feed, result)

    def _extend(self, feed: Feed) -> None:
        extend = getattr(self.store, "extend_lease", None)
        if extend is not None:
            extend(feed.id, self.owner, self._lease_end())

    def _lease_end(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.limits.lease_seconds)

    def _failed(self, feed: Feed, report: SyncReport, exc: BaseException) -> datetime:
        """The status and next run after a failure (module docstring, step 4)."""
        report.error = f"{type(exc).__name__}: {exc}"[:2000]
        now = self.clock.now()
        failures = self.store.get_state(feed.id).failures
        backoff = min(feed.every_seconds, self.limits.retry_seconds * 2 ** min(failures, 10))
        if isinstance(exc, PageStalled):
            report.status = FeedStatus.STALLED
        elif isinstance(exc, ConfigurationError | InvalidInput) or (
            isinstance(exc, ExchangeError) and exc.details.get("permanent")
        ):
            report.status = FeedStatus.FAILED
        else:
            report.status = FeedStatus.RETRYING
            retry_after = exc.details.get("retry_after") if isinstance(exc, KeepdownError) else None
            if retry_after:
                backoff = max(float(retry_after), 1.0)
        if isinstance(exc, KeepdownError):
            log.warning("feed %s: %s (%s)", feed.name, report.error, report.status)
        else:
            log.exception("feed %s: unexpected failure (%s)", feed.name, report.status)
        if report.status is FeedStatus.RETRYING:
            return now + timedelta(seconds=backoff)
        return now + timedelta(seconds=feed.every_seconds)

    def _release(self, feed: Feed, report: SyncReport, next_run: datetime) -> None:
        self.store.release(
            feed.id,
            self.owner,
            self.clock.now(),
            status=report.status,
            error=report.error,
            next_run_at=next_run,
            succeeded=not report.error,
        )

    def _record(self, feed: Feed, report: SyncReport, seconds: float) -> None:
        r = report.result
        try:
            self.events.emit(
                FeedSynced(
                    at=self.clock.now(),
                    feed=feed.name,
                    exchange=str(feed.kind),
                    status=str(report.status),
                    pages=report.pages,
                    records=r.records,
                    stale=r.stale,
                    bad=r.bad,
                    added=r.added,
                    restored=r.restored,
                    removed=r.removed,
                    guarded=r.guarded,
                    reconciled=r.reconciled,
                    caught_up=report.caught_up,
                    seconds=round(seconds, 3),
                    error=report.error[:500],
                )
            )
        except KeepdownError:  # the database may be what failed; the feed's row says so too
            log.warning("feed %s: could not record the run's event", feed.name)
