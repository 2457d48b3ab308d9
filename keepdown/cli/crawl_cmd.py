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
otherwise. When a crawl ends, its outcome is printed (:func:`keepdown.crawl.outcome.summary_lines`:
what became of it, the failures per class, the hosts that failed most), failures are logged as
they happen (``keepdown.crawl``, on stderr), and the run exits 69 (EX_UNAVAILABLE) when every
crawl it finished could not fetch any of its seeds.

``keepdown crawl status [REPORT]`` shows one reported URL (by reference, or a crawl by its
number): its outcome and its crawl's URLs with state, attempts, failure, last error and
sightings; without REPORT, the latest reports and their outcomes. ``--format json`` prints
what ``GET /api/v1/reports/{reference}`` answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

import click

from keepdown.app.crawling import CrawlServices, CrawlTurn, TurnBounds, open_crawl_services
from keepdown.crawl.outcome import CrawlOutcome, Outcome, outcome_of, summary_lines
from keepdown.crawl.reported import ReportedUrl, ReportStatus
from keepdown.errors import FetchError
from keepdown.settings import Settings

__all__ = ["command", "run_worker"]

_DEFAULT = "run"


class DefaultToRun(click.Group):
    """``keepdown crawl [OPTIONS]`` runs the worker; ``keepdown crawl status`` reads."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)


@click.group("crawl", cls=DefaultToRun)
def command() -> None:
    """Run a crawl worker (the default: keepdown crawl run --help), or read a crawl's status.

    \b
    keepdown crawl [--once] [--max-pages N]
    keepdown crawl status [REPORT]
    """


@command.command(_DEFAULT, hidden=True)
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
def run_(settings: Settings, once: bool, max_pages: int | None, poll_seconds: float) -> None:
    """Run a crawl worker in the foreground (Ctrl-C stops it; a restart resumes)."""
    handler = _log_failures()
    services = open_crawl_services(settings)
    ended: dict[int, CrawlOutcome] = {}
    try:
        run_worker(services, once=once, max_pages=max_pages, poll_seconds=poll_seconds, ended=ended)
    except KeyboardInterrupt:
        click.echo("\nstopped; run keepdown crawl again to resume", err=True)
    finally:
        services.close()
        logging.getLogger("keepdown.crawl").removeHandler(handler)
    if ended and all(o.outcome is Outcome.UNREACHABLE for o in ended.values()):
        reasons = sorted({o.reason for o in ended.values()})
        raise FetchError(
            f"no seed of the {len(ended)} crawls that ended could be fetched",
            reasons=", ".join(reasons),
        )


def _log_failures() -> logging.Handler:
    """Failed URLs on stderr as they happen (the crawler logs them on ``keepdown.crawl``)."""
    logger = logging.getLogger("keepdown.crawl")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    return handler


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
    ended: dict[int, CrawlOutcome] | None = None,
) -> int:
    """Crawl until nothing is runnable (``once``) or forever; the number of turns run.

    Each turn is a :class:`keepdown.app.crawling.CrawlTurn` (the task workers run the same).
    A crawl that ends has its outcome printed, and put in ``ended`` when given."""
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
        if end.state == "done":
            summary = services.summary(crawl.id)
            outcome = outcome_of(summary)
            for line in summary_lines(summary, outcome):
                out.write(line + "\n")
            out.flush()
            if ended is not None:
                ended[crawl.id] = outcome
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


# --- keepdown crawl status ------------------------------------------------------------------


@command.command("status")
@click.argument("report", required=False)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["pending", "in_progress", "done", "failed"]),
    help="Only URLs in this state (repeat).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="URLs shown (from --offset).",
)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def status(
    settings: Settings,
    report: str | None,
    states: tuple[str, ...],
    limit: int,
    offset: int,
    fmt: str,
) -> None:
    """A reported URL's outcome and its crawl's URLs (REPORT: a reference, or a crawl number);
    without REPORT, the latest reports and their outcomes."""
    services = open_crawl_services(settings)
    try:
        if report is None:
            shown = services.reports.statuses(services.reports.list_reports(limit=limit))
            _print_list(shown, fmt)
            return
        found = _find(services, report)
        urls, total = (
            services.reports.crawl_urls(
                found.summary.crawl_id, limit=limit, offset=offset, states=states
            )
            if found.summary is not None
            else ([], 0)
        )
    finally:
        services.close()
    if fmt == "json":
        body = {**found.to_dict(), "urls": [u.to_dict() for u in urls], "urls_total": total}
        click.echo(json.dumps(body, indent=2, default=str))
        return
    _print_one(found, urls, total, offset)


def _find(services: CrawlServices, report: str) -> ReportStatus:
    """A report by reference, or a crawl by its number (shown as a report of its own)."""
    if report.isascii() and report.isdigit():
        summary = services.summary(int(report))
        record = services.reports.of_crawl(summary.crawl_id)
        return ReportStatus(record or _crawl_only(summary.crawl_id, services), summary)
    return services.reports.status(report)


def _crawl_only(crawl_id: int, services: CrawlServices) -> ReportedUrl:
    """A crawl no report started (``keepdown crawl status 12``), shown as one."""
    crawl = services.crawls.get(crawl_id)
    return ReportedUrl(
        id=0,
        reference=f"crawl {crawl_id}",
        url=" ".join(crawl.seeds),
        reporter_type="-",
        reporter="",
        note="",
        times_reported=0,
        first_reported_at=crawl.created_at,
        last_reported_at=crawl.created_at,
        crawl_id=crawl_id,
    )


def _print_list(shown: list[ReportStatus], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"reports": [s.to_dict() for s in shown]}, indent=2, default=str))
        return
    if not shown:
        click.echo("no reported URL yet")
    for item in shown:
        outcome = item.outcome
        text = outcome.outcome.value if outcome else "no crawl"
        if outcome and outcome.reason:
            text += f" ({outcome.reason})"
        click.echo(f"{item.record.reference}\t{text}\t{item.record.url}")


def _print_one(found: ReportStatus, urls: list[Any], total: int, offset: int) -> None:
    record = found.record
    click.echo(f"{record.reference}  {record.url}")
    if found.summary is None or found.outcome is None:
        click.echo("  its crawl was deleted: the outcome is not known")
        return
    for line in summary_lines(found.summary, found.outcome):
        click.echo(line)
    click.echo(f"urls {offset + 1}-{offset + len(urls)} of {total}:" if urls else "no URL")
    click.echo("state\tattempts\tkind\tsightings\tknown\tfailure\turl\tlast error")
    for u in urls:
        click.echo(
            f"{u.state}\t{u.attempts}\t{u.kind}\t{u.sightings}\t{u.matched}\t"
            f"{u.failure or '-'}\t{u.url}\t{u.last_error or '-'}"
        )
