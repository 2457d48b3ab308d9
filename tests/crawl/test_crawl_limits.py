"""Crawl budgets and switches: pages, bytes, depth, robots off, far-off Retry-After."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from keepdown.crawl.crawler import Crawler
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.urls import CrawlScope
from keepdown.events import EventLog, PageFetched

from .conftest import BankSink
from .test_crawler import HOST, _crawl

FAST = (r"/slow\.html$",)  # the slow page only costs time here


def _pages_requested(site):
    return [p for _, p in site.requests if p.endswith(".html")]


def test_the_page_budget_stops_the_crawl(fresh_site, crawl_settings, resolver):
    settings = crawl_settings.replace(crawl_max_pages=20)
    events = EventLog()
    _stats, frontier = _crawl(
        settings, fresh_site, resolver, BankSink({}, []), events=events, exclude=FAST
    )
    # A page waiting for its retry (the flaky page) keeps its place in the budget: counted
    # once, however many tries; before, a tally read while it waited let a 21st page start.
    assert frontier.pages_started() == 20
    assert len(set(_pages_requested(fresh_site))) <= 20
    assert frontier.count(kinds=[UrlKind.PAGE], states=[UrlState.PENDING]) > 0
    assert frontier.count(kinds=[UrlKind.MEDIA], states=[UrlState.PENDING]) == 0


def test_the_byte_budget_stops_the_crawl(fresh_site, crawl_settings, resolver):
    settings = crawl_settings.replace(crawl_max_bytes=200_000)
    _stats, frontier = _crawl(settings, fresh_site, resolver, BankSink({}, []), exclude=FAST)
    assert frontier.bytes_fetched() >= 200_000
    # in-flight requests may finish past the line, but not by much
    assert frontier.bytes_fetched() < 200_000 + 16 * settings.crawl_max_media_bytes
    assert frontier.count(states=[UrlState.PENDING]) > 0


def test_the_depth_limit(fresh_site, crawl_settings, resolver):
    settings = crawl_settings.replace(crawl_max_depth=2)
    events = EventLog()
    _, frontier = _crawl(
        settings, fresh_site, resolver, BankSink({}, []), events=events, exclude=FAST
    )
    pages = [i for i in frontier.items() if i.kind is UrlKind.PAGE]
    assert max(i.depth for i in pages) == 2
    fetched = {e.url.split(str(fresh_site.port), 1)[1] for e in events.of(PageFetched)}
    assert {"/index.html", "/p/1.html", "/p/2.html", "/p/3.html", "/p/6.html"} <= fetched
    assert len(fetched) < 40


def test_robots_can_be_switched_off(fresh_site, crawl_settings, resolver, bank_sink):
    settings = crawl_settings.replace(crawl_respect_robots=False)
    _crawl(settings, fresh_site, resolver, bank_sink, exclude=FAST)
    requested = [p for _, p in fresh_site.requests]
    assert "/private/secret.html" in requested
    assert "/robots.txt" not in requested
    assert any(s.page_url.endswith("/private/secret.html") for s, _ in bank_sink.matches)


def test_a_far_off_retry_after_pauses_the_url_and_the_run_ends(
    fresh_site, crawl_settings, resolver
):
    frontier = InMemoryFrontier(max_attempts=3)
    busy = fresh_site.url("/busy.html", HOST)
    crawler = Crawler(
        crawl_settings,
        scope=CrawlScope(seeds=(busy,)),
        frontier=frontier,
        sink=BankSink({}, []),
        resolver=resolver,
    )

    async def go():
        try:
            return await crawler.run()
        finally:
            await crawler.aclose()

    before = datetime.now(UTC)
    stats = asyncio.run(go())
    item = frontier.get(busy)
    assert item.state is UrlState.PENDING
    assert item.last_error == "HTTP 429"
    assert item.not_before >= before + timedelta(seconds=3600)
    assert stats["crawl/paused"] == 1
    assert fresh_site.counts["/busy.html"] == 1
