"""``keepdown crawl``: run a crawl worker in the foreground on the database frontier.

The worker takes the next unfinished crawl (an interrupted one first, then the oldest pending
one; reports queue them), crawls it, stores its sightings, and goes on to the next. Kill it at
any moment and start it again: the crawl carries on from its frontier, and nothing finished is
fetched again (leases of the killed worker expire after ``crawl_lease_seconds``).

``--once`` stops when no crawl is left to run; ``--max-pages N`` fetches at most N more pages
per crawl in this run. Progress (pages, media, matches, errors, the busiest host queues) is a
live line on a terminal, and a plain line every few seconds otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import replace
from typing import Any

import click

from keepdown.app import CrawlServices, open_crawl_services
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.settings import Settings
from keepdown.storage.crawl_store import CrawlRecord

__all__ = ["command", "run_worker"]


@click.command("crawl")
@click.option("--once", is_flag=True, help="Stop when no crawl is left to run.")
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


def run_worker(
    services: CrawlServices,
    *,
    once: bool = False,
    max_pages: int | None = None,
    poll_seconds: float = 5.0,
    out: Any = None,
) -> int:
    """Crawl until nothing is left (``once``) or forever; the number of crawl runs made."""
    out = out or sys.stdout
    runs = 0
    while True:
        crawl = services.crawls.next_to_run()
        if crawl is None:
            if once:
                return runs
            time.sleep(poll_seconds)
            continue
        finished = asyncio.run(_run_one(services, crawl, max_pages, out))
        runs += 1
        if once and not finished:
            return runs  # budget for this run spent, or only far-off retries left
        if not finished:
            time.sleep(poll_seconds)


async def _run_one(
    services: CrawlServices, crawl: CrawlRecord, max_pages: int | None, out: Any
) -> bool:
    """Run one crawl; True when its frontier is exhausted (the crawl is then ``done``)."""
    now = services.clock.now
    services.crawls.set_state(crawl.id, "running", now=now())
    frontier = services.crawls.frontier(crawl.id)
    if max_pages is not None:
        started = frontier.count(
            kinds=[UrlKind.PAGE], states=[UrlState.IN_PROGRESS, UrlState.DONE, UrlState.FAILED]
        )
        crawl = _with_page_budget(crawl, min(crawl.max_pages, started + max_pages))
    crawler, recorder = services.crawler(crawl)
    progress = _Progress(out, crawl.id, crawler, recorder, frontier)
    ticker = asyncio.create_task(progress.tick_forever())
    try:
        await crawler.run()
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await crawler.aclose()
        progress.show(final=True)
    left = frontier.count(states=[UrlState.PENDING, UrlState.IN_PROGRESS])
    if left == 0:
        services.crawls.set_state(crawl.id, "done", now=now())
        return True
    return False


def _with_page_budget(crawl: CrawlRecord, max_pages: int) -> CrawlRecord:
    return replace(crawl, max_pages=max_pages)


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
        return (
            f"crawl {self.crawl_id}: pages {counts.get('page/fetched', 0)}"
            f" media {counts.get('media/hashed', 0)} matches {self.recorder.matched}"
            f" errors {errors} queue {hosts}"
        )

    def show(self, *, final: bool = False) -> None:
        text = self.line()
        if self.tty:
            self.out.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()
