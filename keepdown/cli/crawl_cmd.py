"""``keepdown crawl``: run a crawl worker in the foreground on the database frontier.

The worker takes turns between crawls (``CrawlStore.next_to_run``: the runnable crawl whose
last turn is oldest, never-run ones first). A turn lasts until the crawl is over, or until
``crawl_turn_pages`` pages were fetched while another crawl is waiting; then the crawl goes
back in line. The turn itself, and what the crawl becomes at its end (done, paused until a
retry is due, or pending again), is :class:`keepdown.app.crawling.CrawlTurn`, which the task
workers of ``keepdown worker`` and ``keepdown serve`` run too.

Kill the worker at any moment and start it again: the crawl carries on from its frontier, and
nothing finished is fetched again (leases of the killed worker expire after
``crawl_lease_seconds``). ``--once`` stops when no crawl is runnable now; ``--max-pages N``
fetches at most N more pages per crawl in this run. Progress (pages, media, matches, errors,
the busiest host queues) is a live line on a terminal, and a plain line every few seconds
otherwise.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import click

from keepdown.app import CrawlServices, open_crawl_services
from keepdown.app.crawling import CrawlTurn, TurnBounds
from keepdown.settings import Settings

__all__ = ["command", "run_worker"]


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
    """Crawl until nothing is runnable (``once``) or forever; the number of turns run.

    Each turn is a :class:`keepdown.app.crawling.CrawlTurn` (the task workers run the same)."""
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
        bounds = TurnBounds.foreground(services.settings, budget.left(crawl.id))
        turn = CrawlTurn(services, crawl, bounds, exclude=budget.spent)
        progress = _Progress(out, crawl.id)
        end = asyncio.run(turn.run(progress))
        budget.use(crawl.id, end.pages)
        progress.show(final=True, note=end.note)
        turns += 1


class _Progress:
    """Pages, media, matches, errors and the busiest host queues of the running crawl."""

    def __init__(self, out: Any, crawl_id: int):
        self.out = out
        self.crawl_id = crawl_id
        self.crawler: Any = None
        self.recorder: Any = None
        self.frontier: Any = None
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.every = 0.5 if self.tty else 5.0

    def attach(self, crawler: Any, recorder: Any, frontier: Any) -> None:
        """What to show (this is the turn's :class:`~keepdown.app.crawling.TurnWatcher`)."""
        self.crawler, self.recorder, self.frontier = crawler, recorder, frontier

    async def follow(self) -> None:
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
