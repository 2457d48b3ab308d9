"""``keepdown crawl --max-pages N`` stops after N pages and resumes; the progress display."""

from __future__ import annotations

import io

from keepdown.app import open_crawl_services
from keepdown.cli.crawl_cmd import run_worker
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.crawl.transport import StaticResolver

from .conftest import CRAWL_OVERRIDES
from .test_db_crawl import HOST, RESOLVER


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_page_budget_per_run_then_resume(settings, site):
    settings = settings.replace(**(CRAWL_OVERRIDES | {"crawl_max_depth": 2}))
    services = open_crawl_services(settings, resolver=StaticResolver(RESOLVER))
    try:
        services.reports.submit(
            site.url("/index.html", HOST), reporter_type="public", now=services.clock.now()
        )
        frontier = services.crawls.frontier(1)
        plain = io.StringIO()
        assert run_worker(services, once=True, max_pages=5, out=plain) == 1
        started = [UrlState.DONE, UrlState.FAILED, UrlState.IN_PROGRESS]
        assert frontier.count(kinds=[UrlKind.PAGE], states=started) == 5
        crawl = services.crawls.get(1)
        assert (crawl.state, crawl.reason) == ("pending", "turn over")  # back in line
        assert plain.getvalue().startswith("crawl 1: pages 5 ")
        assert plain.getvalue().endswith("\n")
        assert "\r" not in plain.getvalue()

        tty = Terminal()
        assert run_worker(services, once=True, out=tty) == 1
        assert services.crawls.get(1).state == "done"
        assert tty.getvalue().startswith("\r\x1b[Kcrawl 1: pages ")
        assert frontier.count(states=[UrlState.PENDING, UrlState.IN_PROGRESS]) == 0
        assert run_worker(services, once=True, out=tty) == 0  # nothing left to run
    finally:
        services.close()
