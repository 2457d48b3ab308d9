"""``keepdown crawl``: run a crawl worker in the foreground on the database frontier.

The worker takes turns between crawls (``CrawlStore.next_to_run``: the runnable crawl whose
last turn is oldest, never-run ones first). A turn lasts until the crawl is over, or until
``crawl_turn_pages`` pages were fetched while another crawl is waiting; then the crawl goes
back in line. At the end of a turn the crawl becomes:

- ``done`` (with a reason): its frontier is exhausted, or its page or byte budget is spent;
- ``paused`` until its first retry is due, when only far-off retries are left (a long
  Retry-After): the other crawls run meanwhile;
- ``pending`` again: its turn, or this run's ``--max-pages``, is over.

Kill the worker at any moment and start it again: the crawl carries on from its frontier, and
nothing finished is fetched again (leases of the killed worker expire after
``crawl_lease_seconds``). ``--once`` stops when no crawl is runnable now; ``--max-pages N``
fetches at most N more pages per crawl in this run. Progress (pages, media, matches, errors,
the busiest host queues) is a live line on a terminal, and a plain line every few seconds
otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import Any

import click

from keepdown.app import CrawlServices, open_crawl_services
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.crawl.stats import CrawlStats, RunEnd
from keepdown.settings import Settings
from keepdown.storage.crawl_store import CrawlRecord

__all__ = ["command", "run_worker"]

_STARTED = (UrlState.IN_PROGRESS, UrlState.DONE, UrlState.FAILED)


@click.command("crawl")
@click.option("--once", is_flag=True, help="Stop when no crawl is left to run now.")
@click.option("--max-pages", type=click.IntRange(min=1), help="At most N more pages per crawl.")
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="How often an idle worker looks for new crawls.",
)
@click.pass_obj
def command(settings: Settings, once: bool, max_pages: int | None, poll_seconds: float) -> None:
    """Run a crawl worker in the foreground (Ctrl-C stops it; a restart resumes)."""
    services = open_crawl_services(settings)
    try:
        run_worker(services, once=once, max_pages=max_pages, poll_seconds=poll_seconds)
    except KeyboardInterrupt:
        click.echo("\nstopped; run keepdown crawl again to resume", err=True)
    finally:
        services.close()


class _RunBudget:
    """``--max-pages``: pages each crawl may still start in this worker run."""

    def __init__(self, max_pages: int | None) -> None:
        self.max_pages = max_pages
        self.used: dict[int, int] = {}

    def left(self, crawl_id: int) -> int | None:
        if self.max_pages is None:
            return None
        return max(0, self.max_pages - self.used.get(crawl_id, 0))

    def use(self, crawl_id: int, pages: int) -> None:
        self.used[crawl_id] = self.used.get(crawl_id, 0) + max(0, pages)

    @property
    def spent(self) -> set[int]:
        return {cid for cid in self.used if self.left(cid) == 0}


def run_worker(
    services: CrawlServices,
    *,
    once: bool = False,
    max_pages: int | None = None,
    poll_seconds: float = 5.0,
    out: Any = None,
) -> int:
    """Crawl until nothing is runnable (``once``) or forever; the number of turns run."""
    out = out or sys.stdout
    budget = _RunBudget(max_pages)
    turns = 0
    while True:
        crawl = services.crawls.next_to_run(now=services.clock.now(), exclude=budget.spent)
        if crawl is None:
            if once:
                return turns
            time.sleep(poll_seconds)
            continue
        asyncio.run(_Turn(services, crawl, budget).run(out))
        turns += 1


class _Turn:
    """One worker turn on one crawl: how many pages it may take, and what it leaves."""

    def __init__(self, services: CrawlServices, crawl: CrawlRecord, budget: _RunBudget):
        self.services = services
        self.crawl = crawl
        self.budget = budget
        self.frontier = services.crawls.frontier(crawl.id)
        self.started = self._pages_started()

    def _pages_started(self) -> int:
        return self.frontier.count(kinds=[UrlKind.PAGE], states=_STARTED)

    def limit(self, started: int) -> int:
        """The page limit from ``started`` on: the crawl's budget, the turn, ``--max-pages``."""
        cap = self.crawl.max_pages
        turn_pages = int(self.services.settings.crawl_turn_pages)
        if turn_pages > 0:
            cap = min(cap, started + turn_pages)
        left = self.budget.left(self.crawl.id)
        if left is not None:
            cap = min(cap, self.started + left)
        return cap

    def extend(self, started: int) -> int:
        """Asked by the crawler at the limit: go on, unless spent or another crawl waits."""
        more = self.limit(started)
        if more <= started:
            return started  # the crawl's budget, or --max-pages for it, is spent
        waiting = self.services.crawls.others_waiting(
            self.crawl.id, now=self.services.clock.now(), exclude=self.budget.spent
        )
        return started if waiting else more

    async def run(self, out: Any) -> CrawlStats:
        self.services.crawls.start_turn(self.crawl.id, now=self.services.clock.now())
        crawler, recorder = self.services.crawler(self.crawl, extend_pages=self.extend)
        crawler.page_limit = self.limit(self.started)
        progress = _Progress(out, self.crawl.id, crawler, recorder, self.frontier)
        ticker = asyncio.create_task(progress.tick_forever())
        try:
            await crawler.run()
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await crawler.aclose()
        progress.show(final=True, note=self.settle(crawler.stats))
        return crawler.stats

    def settle(self, stats: CrawlStats) -> str:
        """Record how the turn ended in the crawl's state; the note for the progress line."""
        crawls, crawl = self.services.crawls, self.crawl
        now = self.services.clock.now()
        pages = self._pages_started()
        self.budget.use(crawl.id, pages - self.started)
        if stats.ended is RunEnd.EXHAUSTED:
            reason, done = "frontier exhausted", True
        elif stats.ended is RunEnd.BYTE_BUDGET:
            reason, done = f"byte budget spent ({crawl.max_bytes} bytes)", True
        elif stats.ended is RunEnd.PAGE_BUDGET and pages >= crawl.max_pages:
            reason, done = f"page budget spent ({crawl.max_pages} pages)", True
        elif stats.ended is RunEnd.PAUSED and stats.resume_at is not None:
            reason = f"only retries due later are left (first at {stats.resume_at:%H:%M:%S})"
            crawls.pause(crawl.id, until=stats.resume_at, reason=reason)
            return "paused: " + reason
        else:
            reason, done = "turn over", False
        if done:
            crawls.finish(crawl.id, now=now, reason=reason)
            return "done: " + reason
        crawls.end_turn(crawl.id, reason=reason)
        return reason


class _Progress:
    """Pages, media, matches, errors and the busiest host queues of the running crawl."""

    def __init__(self, out: Any, crawl_id: int, crawler: Any, recorder: Any, frontier: Any):
        self.out = out
        self.crawl_id = crawl_id
        self.crawler = crawler
        self.recorder = recorder
        self.frontier = frontier
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.every = 0.5 if self.tty else 5.0

    async def tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.show()

    def line(self) -> str:
        counts = self.crawler.stats.counts
        errors = sum(v for k, v in counts.items() if k.startswith(("error/", "status/")))
        queue = sorted(self.frontier.per_host_queue().items(), key=lambda kv: -kv[1])[:3]
        hosts = " ".join(f"{h}:{n}" for h, n in queue) or "-"
        local = " politeness per process (Redis unreachable)"
        return (
            f"crawl {self.crawl_id}: pages {counts.get('page/fetched', 0)}"
            f" media {counts.get('media/hashed', 0)} matches {self.recorder.matched}"
            f" errors {errors} queue {hosts}"
            + (local if getattr(self.crawler.politeness, "degraded", False) else "")
        )

    def show(self, *, final: bool = False, note: str = "") -> None:
        text = self.line() + (f" | {note}" if note else "")
        if self.tty:
            self.out.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()
