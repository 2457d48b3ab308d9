"""Stop a crawl mid-way (Ctrl-C, a cancelled task), restart it on the same frontier: nothing
finished is fetched twice, the URLs in flight were given back without costing an attempt they
did not make, and the restart does not wait for any lease. (A real ``kill -9`` is
``test_db_restart.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

from keepdown.crawl.crawler import Crawler
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.urls import CrawlScope
from keepdown.events import EventLog, PageFetched

from .conftest import BankSink
from .test_crawler import HOST, _expected, _found


def _crawler(settings, site, resolver, frontier, sink, events):
    scope = CrawlScope(
        seeds=(site.url("/index.html", HOST),),
        max_depth=settings.crawl_max_depth,
        exclude=(r"/slow\.html$",),
    )
    return Crawler(
        settings,
        scope=scope,
        frontier=frontier,
        sink=sink,
        events=events,
        resolver=resolver,
        crawl_id="restart",
    )


def test_stop_mid_crawl_then_restart(fresh_site, crawl_settings, resolver, bank_hashes):
    site = fresh_site
    # One request at a time to the host, 16 URLs leased: most of them wait for a slot.
    settings = crawl_settings.replace(crawl_lease_seconds=300.0, crawl_per_host_concurrency=1)
    frontier = InMemoryFrontier(max_attempts=3)
    sink = BankSink(dict(bank_hashes[0]), list(bank_hashes[1]))

    in_flight: list = []

    async def first_run():
        events = EventLog()
        crawler = _crawler(settings, site, resolver, frontier, sink, events)
        task = asyncio.create_task(crawler.run())

        def stop_after_sixty(event):
            if isinstance(event, PageFetched) and len(events.of(PageFetched)) == 60:
                in_flight.extend(i for i in frontier.items() if i.state is UrlState.IN_PROGRESS)
                task.cancel()  # Ctrl-C: the run stops and gives back what it holds

        events.subscribe(stop_after_sixty)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await crawler.aclose()

    asyncio.run(first_run())
    done_at_kill = {i.key: i for i in frontier.items() if i.state is UrlState.DONE}
    assert 40 <= len([k for k in done_at_kill if k[0] == "page"]) < 300
    assert frontier.count(states=[UrlState.IN_PROGRESS]) == 0, "the stop gave every lease back"
    given_back = [
        now
        for item in in_flight
        if (now := frontier.get(item.url, kind=item.kind, via=item.via)).state is UrlState.PENDING
    ]
    assert given_back, "the URLs in flight were given back"
    assert all(i.lease_owner == "" and i.lease_token is None for i in given_back)
    unrequested = [i for i in given_back if i.attempts == 0]  # leased, never requested:
    assert len(unrequested) >= 2, "most were waiting for the host's one slot"  # not charged

    requests_before = len(site.requests)
    started = time.monotonic()

    async def second_run():
        crawler = _crawler(settings, site, resolver, frontier, sink, EventLog())
        try:
            await crawler.run()
        finally:
            await crawler.aclose()

    asyncio.run(second_run())
    assert time.monotonic() - started < 120, "the restart waited for leases (300 s)"
    after = [path for _, path in site.requests[requests_before:]]
    done_pages = {urlsplit(url).path for kind, url, _ in done_at_kill if kind == "page"}
    assert not done_pages & set(after), "a page finished before the kill was fetched again"
    for key, item in done_at_kill.items():
        now = frontier.get(item.url, kind=UrlKind(key[0]), via=key[2])
        assert now.attempts == item.attempts
        assert now.state is UrlState.DONE
    for item in unrequested:  # fetched once, by the second run: one attempt in all
        now = frontier.get(item.url, kind=item.kind, via=item.via)
        if now.state is UrlState.DONE and item.kind is UrlKind.PAGE:
            assert now.attempts == 1, now
    assert frontier.count(states=[UrlState.PENDING, UrlState.IN_PROGRESS]) == 0
    assert _found(sink) >= _expected(site)
    assert {(s.page_url, s.media_url, s.archive_member) for s, _ in sink.matches} == {
        e[:3] for e in _expected(site)
    }
