"""Kill a crawl mid-way, restart it on the same frontier: nothing finished is fetched twice."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

from keepdown.crawl.crawler import Crawler
from keepdown.crawl.frontier import InMemoryFrontier, UrlKind, UrlState
from keepdown.crawl.urls import Scope
from keepdown.events import EventLog, PageFetched

from .conftest import BankSink
from .test_crawler import HOST, _expected, _found


def _crawler(settings, site, resolver, frontier, sink, events):
    scope = Scope(
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


def test_kill_mid_crawl_then_restart(fresh_site, crawl_settings, resolver, bank_hashes):
    site = fresh_site
    settings = crawl_settings.replace(crawl_lease_seconds=1.0)
    frontier = InMemoryFrontier(max_attempts=3)
    sink = BankSink(dict(bank_hashes[0]), list(bank_hashes[1]))

    async def first_run():
        events = EventLog()
        crawler = _crawler(settings, site, resolver, frontier, sink, events)
        task = asyncio.create_task(crawler.run())

        def kill_after_sixty(event):
            if isinstance(event, PageFetched) and len(events.of(PageFetched)) == 60:
                task.cancel()  # like a crash: leased items stay in_progress

        events.subscribe(kill_after_sixty)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await crawler.aclose()

    asyncio.run(first_run())
    done_at_kill = {i.key: i for i in frontier.items() if i.state is UrlState.DONE}
    leased_at_kill = [i for i in frontier.items() if i.state is UrlState.IN_PROGRESS]
    # ~60 pages done (a page whose lease expired under load is settled by its new holder)
    assert 40 <= len([k for k in done_at_kill if k[0] == "page"]) < 300
    assert leased_at_kill, "the kill should leave leased work behind"
    assert frontier.count(states=[UrlState.PENDING]) > 0

    requests_before = len(site.requests)
    time.sleep(1.05)  # the dead run's leases expire

    async def second_run():
        crawler = _crawler(settings, site, resolver, frontier, sink, EventLog())
        try:
            await crawler.run()
        finally:
            await crawler.aclose()

    asyncio.run(second_run())
    after = [path for _, path in site.requests[requests_before:]]
    done_pages = {urlsplit(url).path for kind, url, _ in done_at_kill if kind == "page"}
    assert not done_pages & set(after), "a page finished before the kill was fetched again"
    for key, item in done_at_kill.items():
        now = frontier.get(item.url, kind=UrlKind(key[0]), via=key[2])
        assert now.attempts == item.attempts
        assert now.state is UrlState.DONE
    for item in leased_at_kill:  # work lost in the crash was picked up again (or failed,
        now = frontier.get(item.url, kind=item.kind, via=item.via)  # if out of attempts)
        assert now.attempts > item.attempts or now.last_error == "lease expired on every attempt"
        assert now.state in (UrlState.DONE, UrlState.FAILED)
    assert frontier.count(states=[UrlState.PENDING, UrlState.IN_PROGRESS]) == 0
    assert _found(sink) >= _expected(site)
    assert {(s.page_url, s.media_url, s.archive_member) for s, _ in sink.matches} == {
        e[:3] for e in _expected(site)
    }
