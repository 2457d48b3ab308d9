"""Per-host politeness shared through the real Redis at 127.0.0.1:6379.

Two crawler instances, each in its own thread with its own event loop and its own Redis
connections (as two processes would be), crawl one loopback host at the same time: together
they keep one host budget (in-flight cap and the gap between request starts). With the
in-memory backend the same two instances double it, which shows the measurement can fail.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import time
import uuid

import pytest
import redis

from keepdown.crawl.crawler import Crawler
from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.politeness import InMemoryPoliteness, politeness_from_settings
from keepdown.crawl.politeness_redis import RedisPoliteness
from keepdown.crawl.urls import CrawlScope
from keepdown.errors import ConfigurationError

from .conftest import CRAWL_OVERRIDES
from .tinysite import Reply, TinySite

REDIS_URL = os.environ.get("KEEPDOWN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PAGES = 6


@pytest.fixture(scope="module")
def redis_url():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc.__class__.__name__})")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def prefix(redis_url):
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"kd-test:{uuid.uuid4().hex[:8]}:"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=name + "*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def slow_site():
    routes = {
        f"/{who}/{i}.html": Reply(b"<html><body>hi</body></html>", delay=0.15)
        for who in "ab"
        for i in range(PAGES)
    }
    routes["/robots.txt"] = Reply(b"User-agent: *\nAllow: /\n", "text/plain")
    site = TinySite(routes).start()
    yield site
    site.stop()


class Nothing:
    def accept(self, sighting, hashes) -> None:
        pass


def crawl_together(settings, site, make_politeness) -> list:
    """Two crawlers, two threads, two loops, started at once; their stats."""
    site.log.clear()
    site.peak = 0
    barrier = threading.Barrier(2)
    stats: list = []

    def one(who: str) -> None:
        async def go():
            seeds = tuple(site.url(f"/{who}/{i}.html") for i in range(PAGES))
            crawler = Crawler(
                settings,
                scope=CrawlScope(seeds=seeds, max_depth=0),
                frontier=InMemoryFrontier(),
                sink=Nothing(),
                politeness=make_politeness(),
            )
            await crawler.robots.check(seeds[0])  # robots.txt read before the race
            barrier.wait(timeout=10)
            try:
                return await crawler.run()
            finally:
                await crawler.aclose()

        stats.append(asyncio.run(go()))

    threads = [threading.Thread(target=one, args=(w,)) for w in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(stats) == 2
    return stats


def _settings(settings, **overrides):
    return settings.replace(**(CRAWL_OVERRIDES | {"crawl_concurrency": 8} | overrides))


def test_two_crawlers_share_one_host_concurrency(settings, slow_site, redis_url, prefix):
    s = _settings(settings, crawl_per_host_concurrency=2, crawl_per_host_delay_seconds=0)
    shared = s.replace(crawl_politeness_backend="redis", redis_url=redis_url)
    stats = crawl_together(
        s, slow_site, lambda: RedisPoliteness.from_settings(shared, prefix=prefix)
    )
    assert [st["page/fetched"] for st in stats] == [PAGES, PAGES]
    assert slow_site.peak == 2  # the host saw at most 2 at once, from both crawlers together

    alone = crawl_together(s, slow_site, lambda: InMemoryPoliteness.from_settings(s))
    assert [st["page/fetched"] for st in alone] == [PAGES, PAGES]
    assert slow_site.peak > 2  # per process: each crawler took its own 2


def test_two_crawlers_keep_one_gap_between_request_starts(settings, slow_site, redis_url, prefix):
    gap = 0.12
    s = _settings(settings, crawl_per_host_concurrency=8, crawl_per_host_delay_seconds=gap)
    shared = s.replace(crawl_politeness_backend="redis", redis_url=redis_url)
    crawl_together(s, slow_site, lambda: RedisPoliteness.from_settings(shared, prefix=prefix))
    starts = sorted(t for _, _, t in slow_site.log)
    assert len(starts) == 2 * PAGES
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) > gap - 0.03, gaps  # clock granularity and thread wake-up slack

    crawl_together(s, slow_site, lambda: InMemoryPoliteness.from_settings(s))
    starts = sorted(t for _, _, t in slow_site.log)
    assert min(b - a for a, b in itertools.pairwise(starts)) < gap / 2


def test_a_dead_holder_frees_its_slot_after_the_hold_time(redis_url, prefix):
    async def go():
        dead = RedisPoliteness(redis_url, 1, 0.0, hold_seconds=0.3, prefix=prefix)
        alive = RedisPoliteness(redis_url, 1, 0.0, hold_seconds=0.3, prefix=prefix)
        await dead._reserve("h.test", "crashed-worker", 0.0)  # taken, never released
        started = time.monotonic()
        async with alive.slot("h.test"):
            waited = time.monotonic() - started
        await dead.aclose()
        await alive.aclose()
        return waited

    waited = asyncio.run(go())
    assert 0.2 < waited < 2.0


def test_redis_unreachable_falls_back_to_per_process_politeness(caplog):
    caplog.set_level(logging.INFO, logger="keepdown.crawl.politeness")
    url = "redis://user:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    peak = in_flight = 0

    async def request(polite):
        nonlocal peak, in_flight
        async with polite.slot("h.test"):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.02)
            in_flight -= 1

    async def go():
        polite = RedisPoliteness(url, 2, 0.0)
        await asyncio.gather(*(request(polite) for _ in range(6)))
        await polite.aclose()
        return polite

    polite = asyncio.run(go())
    assert peak == 2  # still polite, per process
    assert polite.degraded
    assert polite.fallbacks == 6
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per outage, not once per request
    assert "per process" in warnings[0].getMessage()
    assert "s3cret" not in caplog.text
    assert "user" not in caplog.text


def test_the_backend_is_chosen_by_settings(settings, redis_url):
    assert isinstance(politeness_from_settings(settings), InMemoryPoliteness)
    chosen = politeness_from_settings(
        settings.replace(crawl_politeness_backend="redis", redis_url=redis_url)
    )
    assert isinstance(chosen, RedisPoliteness)
    assert chosen.concurrency == settings.crawl_per_host_concurrency
    asyncio.run(chosen.aclose())
    with pytest.raises(ConfigurationError, match="needs redis_url"):
        politeness_from_settings(settings.replace(crawl_politeness_backend="redis"))
    with pytest.raises(ConfigurationError, match="memory, redis"):
        politeness_from_settings(settings.replace(crawl_politeness_backend="carrier-pigeon"))
