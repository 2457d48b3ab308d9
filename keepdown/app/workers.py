"""The workers' parts: the task queue from settings, and what each task does on the stores.

:func:`open_queue` gives the :class:`~keepdown.tasks.TaskQueue` of the configured backend
(embedded SQLite by default, Redis for many machines). A process that runs tasks passes
``jobs=True``: its :class:`WorkerJobs` take their parts from one
:class:`~keepdown.app.runtime.Runtime` (the server's, for ``serve``'s embedded workers; their
own, opened on first use, for ``keepdown worker``): one storage, one match chain (kept current
by a cheap change-mark check before each crawl slice, re-check pass and scan batch, see "Index
refresh" in ``docs/architecture.md``), the crawl services, the notice services and the finance
alerter. A crawl task runs the same
:class:`~keepdown.app.crawling.CrawlTurn` as ``keepdown crawl``, with the slice's bounds.

:class:`EmbeddedWorkers` is what ``keepdown serve`` starts next to the API on the embedded
default: ``serve_workers`` consumer threads in the server process, replacing the notice thread
that ran there before (notice passes still come every ``notice_worker_seconds``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from keepdown.app.crawling import CrawlServices, CrawlTurn, TurnBounds
from keepdown.app.noticing import NoticeServices
from keepdown.app.runtime import Runtime
from keepdown.app.scanning import WorkerScanner
from keepdown.clock import Clock
from keepdown.crawl.transport import Resolver
from keepdown.events import TaskRan
from keepdown.notices.senders import Sender
from keepdown.settings import Settings
from keepdown.tasks import TaskQueue, open_huey
from keepdown.tasks.consumer import consumer_for

__all__ = ["EmbeddedWorkers", "WorkerJobs", "open_queue"]

log = logging.getLogger("keepdown.app")


def open_queue(
    settings: Settings,
    *,
    jobs: bool = False,
    runtime: Runtime | None = None,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    senders: dict[str, Sender] | None = None,
) -> TaskQueue:
    """The task queue; with ``jobs`` this process can run tasks too, on ``runtime`` (the
    server's, so its workers share its index) or on a runtime of their own, opened on first
    use with ``clock``, ``resolver`` and ``senders``."""
    factory = None
    if jobs:

        def factory() -> WorkerJobs:
            if runtime is not None:
                return WorkerJobs(runtime)
            own = Runtime(settings, clock=clock, resolver=resolver, senders=senders)
            return WorkerJobs(own, owned=True)

    return TaskQueue(open_huey(settings), settings, factory)


class WorkerJobs:
    """What each task does (``keepdown.tasks.Jobs``), on one runtime's parts (``owned``: the
    jobs opened it and close it)."""

    def __init__(self, runtime: Runtime, *, owned: bool = False) -> None:
        self.runtime = runtime
        self.owned = owned
        self.settings = runtime.settings
        self.clock = runtime.clock
        self.matcher = runtime.matcher
        self.crawl: CrawlServices = runtime.crawling
        self.notice: NoticeServices = runtime.notices
        self.accountability = runtime.accountability
        self.banks = runtime.banks
        self._scanner: WorkerScanner | None = None

    # --- crawls ----------------------------------------------------------------------------

    def runnable_crawls(self, limit: int) -> list[int]:
        found: list[int] = []
        now = self.clock.now()
        while len(found) < limit:
            crawl = self.crawl.crawls.next_to_run(now=now, exclude=found)
            if crawl is None:
                break
            found.append(crawl.id)
        return found

    def crawl_slice(self, crawl_id: int) -> bool:
        crawl = self.crawl.crawls.get(crawl_id)
        if crawl.state in ("done", "stopped"):
            return False  # ran to its end already: this task was queued twice
        if crawl.state == "paused" and crawl.resume_at and crawl.resume_at > self.clock.now():
            return False  # the dispatcher queues it again once its retries are due
        self.matcher.refresh()  # cheap when no bank changed
        turn = CrawlTurn(self.crawl, crawl, TurnBounds.slice(self.settings))
        return asyncio.run(turn.run()).more  # the same turn as keepdown crawl's, other bounds

    # --- notices ---------------------------------------------------------------------------

    def notice_pass(self) -> None:
        report = asyncio.run(self.notice.service.send_due())
        if report.sent or report.failed or report.drafted:
            log.info("notice pass: %s", report)

    def recheck_pass(self) -> None:
        self.matcher.refresh()
        report = asyncio.run(self.notice.tracker.recheck_due())
        if report.removals or report.reappeared:
            # a confirmed removal leaves the block list now, not at the next fetch
            self.runtime.blocklist.refresh()

    def alert_pass(self) -> None:
        """``keepdown finance alert`` as a task: the same alerter, on this process's stores."""
        report = asyncio.run(self.accountability.alerter.send_due())
        if report.planned or report.sent or report.failed or report.uncertain:
            log.info(
                "finance alert pass: planned %d sent %d retry %d failed %d uncertain %d",
                len(report.planned),
                len(report.sent),
                len(report.retry),
                len(report.failed),
                len(report.uncertain),
            )

    def checkpoint_pass(self) -> None:
        """``keepdown evidence checkpoint`` as a task: sign the chain's head when it moved."""
        signed = self.runtime.evidence.record_checkpoint()
        if signed is not None:
            log.info("evidence checkpoint at position %d", signed.checkpoint.position)

    def filing_pass(self) -> None:
        """``keepdown regulator file`` as a task: statements of reasons and CyberTipline
        reports of every organisation with a filing profile (nothing when there is none)."""
        done = self.runtime.filings.run()
        statements, reports = done["statements"], done["cybertip"]
        if statements["sent"] or statements["errors"] or any(reports.values()):
            log.info("filing pass: %s", done)

    def federation_pass(self) -> None:
        """Referrals to peers and status callbacks (docs/federation.md); nothing without
        peers."""
        parts = self.runtime.federation
        if not parts.peers():
            return
        desk = parts.referrals
        planned, statuses = desk.plan(), desk.follow()
        sent = desk.send_due()
        if planned or statuses or sent:
            log.info(
                "federation pass: %d referrals, %d statuses planned, %d sent",
                planned,
                statuses,
                sent,
            )

    def exchange_pass(self) -> None:
        """``keepdown feed run --due`` and ``keepdown feed outbox send`` as a task."""
        exchanges = self.runtime.exchanges
        for report in exchanges.run_due():
            if report.error or report.result.changed_entries:
                log.info(
                    "feed %s: %s, +%d -%d entries%s",
                    report.feed,
                    report.status,
                    report.result.added + report.result.restored,
                    report.result.removed,
                    f" ({report.error})" if report.error else "",
                )
        sent = exchanges.outbox_pass()
        if sent["planned"] or sent["sent"] or sent["failed"] or sent["recovered"]:
            log.info("exchanges outbox: %s", sent)

    # --- banks and scans -------------------------------------------------------------------

    def import_bank(self, bank: str, path: str, options: dict[str, Any]) -> dict[str, Any]:
        allowed = {"fmt", "signal_type", "skip_invalid", "restore"}
        result = self.banks.import_file(
            bank, Path(path), **{k: v for k, v in options.items() if k in allowed}
        )
        return {
            "import": result.import_id,
            "added": result.added,
            "already present": result.already_present,
            "invalid": result.invalid,
            "removed": result.removed,
        }

    def scan_batch(
        self, source: str, items: list[str], options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if self._scanner is None:
            self._scanner = WorkerScanner(self.settings, self.matcher)
        self.matcher.refresh()
        return self._scanner.batch(source, items, options)

    # --- bookkeeping -----------------------------------------------------------------------

    def record(self, task: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.runtime.storage.events.emit(
            TaskRan(
                at=self.clock.now(),
                task=task,
                outcome=outcome,
                seconds=round(seconds, 3),
                detail=detail,
            )
        )

    def close(self) -> None:
        if self.owned:
            self.runtime.close()


class EmbeddedWorkers:
    """``serve_workers`` consumer threads inside the ``keepdown serve`` process, on the
    server's runtime (one index, one match chain for the API and the workers)."""

    def __init__(self, runtime: Runtime) -> None:
        self.settings = runtime.settings
        self.queue = open_queue(runtime.settings, jobs=True, runtime=runtime)
        self.consumer = consumer_for(
            self.queue, workers=runtime.settings.serve_workers, embedded=True
        )

    def start(self) -> None:
        self.consumer.start()

    def stop(self) -> None:
        self.consumer.shutdown(timeout=30.0)
        self.queue.close()
