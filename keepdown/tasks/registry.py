"""The job registry: keepdown's background work as Huey tasks, and the periodic dispatcher.

Every task carries ids (a crawl id, a bank name and a file path, a scan source and item
names), never work the database does not know about, and is safe to run twice:

- ``keepdown.crawl(crawl_id)``: one slice of a crawl (at most ``worker_crawl_slice_urls``
  pages or ``worker_crawl_slice_seconds``). The frontier leases URLs, done ones are never
  fetched again, and a sighting has a unique key;
- ``keepdown.notices()``: one notice pass (recover, draft, plan, deliver). The outbox claims a
  delivery under a lease and sends it once;
- ``keepdown.rechecks()``: re-check the locations that are due; a check is recorded against
  the location's current state;
- ``keepdown.finance_alerts()``: plan and send the alerts to subscribed financial
  institutions (``keepdown finance alert``); an alert is planned once per subscription and
  indicator (a unique key) and claimed under a lease before it is sent, so it is sent once;
- ``keepdown.import_bank(bank, path, options)``: import a bank file; imports are atomic and
  idempotent (a hash already there is left as it is);
- ``keepdown.scan_batch(source, items, options)``: hash and match some items of a scan; pure,
  the rows go back to the scan, which writes each item once;
- ``keepdown.filings()``: one filing pass (``keepdown regulator file``): statements of reasons
  planned once per PUID and sent in batches under a lease, CyberTipline reports moved on one
  step at a time under a lease, open reports that stalled withdrawn before NCMEC's time-out;
- ``keepdown.federation()``: one referral pass (docs/federation.md): referrals planned once
  per sighting and peer, status callbacks once per referral and status, the federation
  outbox sent under a lease (a peer refuses a message it already holds, so a resend after a
  kill takes effect once);
- ``keepdown.evidence_checkpoint()``: sign a checkpoint of the event chain's head (after
  walking the events since the last one; nothing when the head has not moved). Two workers
  recording the same head store it once;
- ``keepdown.exchanges()``: one exchanges pass: run the feeds that are due (each under its
  lease, from its checkpoint: ``keepdown feed run --due``), then plan the analysts' verdicts
  as feedback and published banks' new entries as submissions, and send the outbox
  (``keepdown feed outbox send``: claimed under a lease, settled by version);
- ``keepdown.dispatch()`` (periodic): find due work in the database and queue it, skipping
  what is already waiting.

:meth:`TaskQueue.dispatch` is the only place periodic work comes from: every
``worker_periodic_seconds`` a worker asks the database which crawls are runnable, and queues
a notice pass, a re-check pass, a finance alert pass, a filing pass and a referral pass (each every
``notice_worker_seconds``) and an evidence checkpoint (every
``evidence_checkpoint_minutes``) and an exchanges pass (every ``exchange_worker_seconds``),
skipping what is already waiting in the queue. A queue
that lost its contents (Redis flushed, a worker killed while holding a task) therefore loses
nothing: the next dispatch finds the same work in the database again.

What a task does is up to a :class:`Jobs` object (``keepdown.app.workers`` wires the real one
on the stores and services); this module only names, queues and runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from huey.constants import EmptyData

from keepdown.errors import KeepdownError

__all__ = ["TASK_NAMES", "Jobs", "TaskQueue"]

log = logging.getLogger("keepdown.tasks")

CRAWL = "keepdown.crawl"
NOTICES = "keepdown.notices"
RECHECKS = "keepdown.rechecks"
IMPORT = "keepdown.import_bank"
SCAN = "keepdown.scan_batch"
ALERTS = "keepdown.finance_alerts"
CHECKPOINT = "keepdown.evidence_checkpoint"
FILINGS = "keepdown.filings"
FEDERATION = "keepdown.federation"
EXCHANGES = "keepdown.exchanges"
DISPATCH = "keepdown.dispatch"
TASK_NAMES = (
    CRAWL,
    NOTICES,
    RECHECKS,
    IMPORT,
    SCAN,
    ALERTS,
    CHECKPOINT,
    FILINGS,
    FEDERATION,
    EXCHANGES,
    DISPATCH,
)


class Jobs(Protocol):
    """What the tasks do, on one worker process (``keepdown.app.workers.WorkerJobs``)."""

    def crawl_slice(self, crawl_id: int) -> bool:
        """Run one slice of a crawl; True when the crawl has work left for another slice."""
        ...

    def notice_pass(self) -> None: ...

    def recheck_pass(self) -> None: ...

    def alert_pass(self) -> None:
        """Plan and send due finance alerts (each subscription and indicator once)."""
        ...

    def checkpoint_pass(self) -> None:
        """Sign a checkpoint of the event chain's head when it moved (keepdown.evidence)."""
        ...

    def filing_pass(self) -> None:
        """Send statements of reasons and move CyberTipline reports on (keepdown.filings)."""
        ...

    def federation_pass(self) -> None:
        """Plan referrals and status callbacks, send the federation outbox."""
        ...

    def exchange_pass(self) -> None:
        """Run due feeds and send the exchanges' outbox (keepdown.exchanges)."""
        ...

    def import_bank(self, bank: str, path: str, options: dict[str, Any]) -> dict[str, Any]: ...

    def scan_batch(
        self, source: str, items: list[str], options: dict[str, Any]
    ) -> list[dict[str, Any]]: ...

    def runnable_crawls(self, limit: int) -> list[int]:
        """Ids of crawls that could run now (pending, interrupted, or paused and due)."""
        ...

    def record(self, task: str, outcome: str, seconds: float, detail: str = "") -> None:
        """Note a task's run (an event)."""
        ...

    def close(self) -> None: ...


class TaskQueue:
    """keepdown's tasks registered on one Huey instance (module docstring).

    ``jobs`` builds the :class:`Jobs` of this process on first use (so a process that only
    queues work never opens what the workers need); ``None`` for an enqueue-only process.
    """

    def __init__(
        self,
        huey: Any,
        settings: Any,
        jobs: Callable[[], Jobs] | None = None,
    ) -> None:
        self.huey = huey
        self.settings = settings
        self._make_jobs = jobs
        self._jobs: Jobs | None = None
        self._jobs_lock = threading.Lock()
        self._register()

    # --- the worker side ---------------------------------------------------------------

    @property
    def jobs(self) -> Jobs:
        if self._jobs is None:
            with self._jobs_lock:
                if self._jobs is None:
                    if self._make_jobs is None:
                        raise KeepdownError("this process queues tasks but cannot run them")
                    self._jobs = self._make_jobs()
        return self._jobs

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()
            self._jobs = None

    def _register(self) -> None:
        task = self.huey.task
        self._crawl = task(name=CRAWL, retries=2, retry_delay=5)(self._run_crawl)
        self._notices = task(name=NOTICES)(self._timed(NOTICES, lambda: self.jobs.notice_pass()))
        self._rechecks = task(name=RECHECKS)(
            self._timed(RECHECKS, lambda: self.jobs.recheck_pass())
        )
        self._alerts = task(name=ALERTS)(self._timed(ALERTS, lambda: self.jobs.alert_pass()))
        self._checkpoint = task(name=CHECKPOINT)(
            self._timed(CHECKPOINT, lambda: self.jobs.checkpoint_pass())
        )
        self._filings = task(name=FILINGS)(self._timed(FILINGS, lambda: self.jobs.filing_pass()))
        self._federation = task(name=FEDERATION)(
            self._timed(FEDERATION, lambda: self.jobs.federation_pass())
        )
        self._exchanges = task(name=EXCHANGES)(
            self._timed(EXCHANGES, lambda: self.jobs.exchange_pass())
        )
        self._import = task(name=IMPORT, retries=1, retry_delay=10)(self._run_import)
        self._scan = task(name=SCAN, retries=2, retry_delay=1)(self._run_scan)
        self._dispatch = self.huey.periodic_task(_always, name=DISPATCH)(self._run_dispatch)

    def _timed(self, name: str, work: Callable[[], None]) -> Callable[[], None]:
        """A periodic pass: a failure is recorded (a ``failed`` TaskRan event) and raised for
        the consumer to log; the worker goes on, and the next dispatch queues the pass again
        (what it had to do is still in the database)."""

        def run() -> None:
            started = time.monotonic()
            try:
                work()
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}"[:500]
                try:
                    self.jobs.record(name, "failed", time.monotonic() - started, detail)
                except Exception:  # the database may be what failed: the log still says so
                    log.warning("could not record the failed %s pass", name)
                raise exc
            log.debug("%s took %.2f s", name, time.monotonic() - started)

        return run

    def _run_crawl(self, crawl_id: int) -> None:
        started = time.monotonic()
        more = self.jobs.crawl_slice(int(crawl_id))
        self.jobs.record(CRAWL, "more" if more else "ok", time.monotonic() - started, str(crawl_id))
        if more:
            self.crawl(int(crawl_id))  # hand the rest to a new task (any worker)
        self.notices()  # the slice may have confirmed sightings: draft and send soon

    def _run_import(self, bank: str, path: str, options: dict[str, Any]) -> None:
        # No result is returned: nobody waits on it, and a stored result would stay in the
        # queue's result store for ever. The import's outcome is in the database and events.
        started = time.monotonic()
        result = self.jobs.import_bank(bank, path, dict(options))
        detail = f"{bank} {path}: " + ", ".join(f"{k} {v}" for k, v in result.items())
        self.jobs.record(IMPORT, "ok", time.monotonic() - started, detail[:500])

    def _run_dispatch(self) -> None:
        self.dispatch()

    def _run_scan(
        self, source: str, items: list[str], options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return self.jobs.scan_batch(source, list(items), dict(options))

    # --- the enqueue side ----------------------------------------------------------------

    def crawl(self, crawl_id: int) -> Any:
        return self._crawl(int(crawl_id))

    def notices(self) -> Any:
        return self._notices()

    def rechecks(self) -> Any:
        return self._rechecks()

    def finance_alerts(self) -> Any:
        return self._alerts()

    def evidence_checkpoint(self) -> Any:
        return self._checkpoint()

    def filings(self) -> Any:
        return self._filings()

    def federation(self) -> Any:
        return self._federation()

    def exchanges(self) -> Any:
        return self._exchanges()

    def import_bank(self, bank: str, path: str, options: dict[str, Any] | None = None) -> Any:
        return self._import(bank, path, dict(options or {}))

    def scan_batch(self, source: str, items: Sequence[str], options: dict[str, Any]) -> Any:
        """Queue a batch of a scan; the returned handle's ``get()`` gives the report rows."""
        return self._scan(source, list(items), dict(options))

    def pending(self, limit: int = 10_000) -> list[tuple[str, tuple[Any, ...]]]:
        """(task name, args) of tasks waiting in the queue, oldest first."""
        return [(t.name, tuple(t.args)) for t in self.huey.pending(limit=limit)]

    # --- the periodic dispatcher ---------------------------------------------------------

    def dispatch(self) -> dict[str, int]:
        """Queue the due work the database knows of (module docstring); what was queued."""
        waiting = self.pending()
        queued = {
            "crawl": 0,
            "notices": 0,
            "rechecks": 0,
            "finance_alerts": 0,
            "checkpoint": 0,
            "filings": 0,
            "federation": 0,
            "exchanges": 0,
        }
        per_crawl: dict[int, int] = {}
        for name, args in waiting:
            if name == CRAWL and args:
                per_crawl[int(args[0])] = per_crawl.get(int(args[0]), 0) + 1
        parallel = max(1, self.settings.worker_crawl_parallelism)
        for crawl_id in self.jobs.runnable_crawls(limit=1000):
            for _ in range(parallel - per_crawl.get(crawl_id, 0)):
                self.crawl(crawl_id)
                queued["crawl"] += 1
        names = {name for name, _ in waiting}
        if self._notices_due() and NOTICES not in names:
            self.notices()
            queued["notices"] += 1
        if self._notices_due(RECHECKS) and RECHECKS not in names:
            self.rechecks()
            queued["rechecks"] += 1
        if self._notices_due(ALERTS) and ALERTS not in names:
            self.finance_alerts()
            queued["finance_alerts"] += 1
        if self._notices_due(FILINGS) and FILINGS not in names:
            self.filings()
            queued["filings"] += 1
        if self._notices_due(FEDERATION) and FEDERATION not in names:
            self.federation()
            queued["federation"] += 1
        every_exchange = self.settings.exchange_worker_seconds
        if self._due(EXCHANGES, every_exchange) and EXCHANGES not in names:
            self.exchanges()
            queued["exchanges"] += 1
        every = self.settings.evidence_checkpoint_minutes * 60
        if self._due(CHECKPOINT, every) and CHECKPOINT not in names:
            self.evidence_checkpoint()
            queued["checkpoint"] += 1
        if any(queued.values()):
            log.info("dispatch queued %s", queued)
        return queued

    def _notices_due(self, which: str = NOTICES) -> bool:
        """``notice_worker_seconds`` apart (0: never, as before workers ran on a queue)."""
        return self._due(which, self.settings.notice_worker_seconds)

    def _due(self, which: str, every: float) -> bool:
        """``every`` seconds apart (0: never); the time of the last pass is shared through the
        queue's key-value store."""
        if every <= 0:
            return False
        key = f"{which}.last_queued"
        now = time.time()
        last = self.huey.storage.peek_data(key)
        if last is not EmptyData:
            try:
                if now - float(last) < every:
                    return False
            except (TypeError, ValueError):
                pass  # unreadable: treat as never
        self.huey.storage.put_data(key, str(now).encode())
        return True


def _always(_moment: Any) -> bool:
    """Periodic tasks run on every scheduler tick; the tick is ``worker_periodic_seconds``
    (:mod:`keepdown.tasks.consumer`), not Huey's one-minute crontab resolution."""
    return True
