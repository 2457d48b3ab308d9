"""A URL costs a bounded number of requests and time, and is never fetched by two workers.

- A page that hangs is requested ``crawl_max_attempts`` times in all (retries inside a try
  used to multiply with the tries: 9 requests over minutes, each holding a host slot).
- A fetch that outlasts ``crawl_lease_seconds`` keeps its lease (renewed while it runs), so a
  second worker never takes the URL over and fetches it again.
- Every settled URL says why it failed (``failure``), and a page behind an unreachable
  robots.txt is not retried for ever.
"""

from __future__ import annotations

import asyncio
import time

from keepdown.crawl.crawler import Crawler
from keepdown.crawl.frontier import UrlState
from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.transport import StaticResolver
from keepdown.crawl.urls import CrawlScope

from .conftest import BankSink
from .test_crawler import HOST


def _crawler(settings, seed, frontier, resolver, **kw):
    return Crawler(
        settings,
        scope=CrawlScope(seeds=(seed,), max_depth=0),
        frontier=frontier,
        sink=BankSink({}, []),
        resolver=resolver,
        **kw,
    )


async def _run(*crawlers):
    try:
        return await asyncio.gather(*(c.run() for c in crawlers))
    finally:
        for crawler in crawlers:
            await crawler.aclose()


def test_a_hanging_page_is_requested_once_per_attempt(fresh_site, crawl_settings, resolver):
    settings = crawl_settings.replace(
        crawl_timeout_seconds=0.2,
        crawl_max_retries=2,  # would have been 3 requests per try
        crawl_max_attempts=3,
        crawl_retry_backoff_seconds=0.01,
    )
    frontier = InMemoryFrontier(max_attempts=3)
    slow = fresh_site.url("/slow.html", HOST)
    started = time.monotonic()
    asyncio.run(_run(_crawler(settings, slow, frontier, resolver)))
    assert fresh_site.counts["/slow.html"] == 3  # not (2 + 1) x 3 = 9
    item = frontier.get(slow)
    assert (item.state, item.attempts, item.failure) == (UrlState.FAILED, 3, "timeout")
    assert time.monotonic() - started < 3 * 0.2 + 5  # three short tries, not minutes


def test_a_fetch_longer_than_its_lease_is_not_taken_over(fresh_site, crawl_settings, resolver):
    # The page takes 3 s; a lease lasts 0.3 s. Two workers share the frontier.
    settings = crawl_settings.replace(
        crawl_lease_seconds=0.3, crawl_timeout_seconds=10, crawl_max_fetch_seconds=10
    )
    frontier = InMemoryFrontier(max_attempts=3)
    slow = fresh_site.url("/slow.html", HOST)
    first = _crawler(settings, slow, frontier, resolver)
    second = _crawler(settings, slow, frontier, resolver)
    stats = asyncio.run(_run(first, second))
    assert fresh_site.counts["/slow.html"] == 1, "the second worker fetched it again"
    item = frontier.get(slow)
    assert (item.state, item.attempts) == (UrlState.DONE, 1)
    assert all(s["lease/lost"] == 0 for s in stats)


def test_unreachable_seeds_fail_with_their_reason_after_bounded_tries(crawl_settings):
    settings = crawl_settings.replace(crawl_max_attempts=2, crawl_retry_backoff_seconds=0.01)
    resolver = StaticResolver({"refused.test": ["127.0.0.1"]})
    cases = {
        "http://nowhere.test/x": "dns",  # no such name: robots.txt cannot be read either
        "http://refused.test:9/x": "refused",
        "http://10.0.0.1/x": "blocked",
    }
    for url, failure in cases.items():
        frontier = InMemoryFrontier(max_attempts=2)
        stats = asyncio.run(_run(_crawler(settings, url, frontier, resolver)))[0]
        item = frontier.get(url)
        assert (item.state, item.failure) == (UrlState.FAILED, failure), (url, item)
        assert item.attempts <= 2
        assert stats[f"failure/{failure}"] >= 1
        assert stats.ended == "exhausted"
