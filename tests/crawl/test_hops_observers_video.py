"""Politeness per redirect hop, page observers, and videos bounded by bytes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from contextlib import asynccontextmanager

import pytest

from keepdown.crawl.crawler import Crawler
from keepdown.crawl.frontier import UrlKind
from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.observers import PageSeen
from keepdown.crawl.politeness import InMemoryPoliteness
from keepdown.crawl.transport import StaticResolver
from keepdown.crawl.urls import CrawlScope
from keepdown.testing import synthetic_jpeg

from .conftest import CRAWL_OVERRIDES
from .tinysite import Reply, TinySite

JPEG = synthetic_jpeg(4242, 64, 48)
SMALL_VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(500)
BIG_VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(5000)
LATIN1 = "text/html; charset=ISO-8859-1"


def _page(body: str) -> Reply:
    return Reply(f"<!doctype html><html><body>{body}</body></html>".encode())


@pytest.fixture(scope="module")
def tiny():
    routes = {
        "/robots.txt": Reply(b"User-agent: *\nAllow: /\n", "text/plain"),
        "/start.html": _page('<img src="/hop.jpg"><a href="/shop.html">shop</a>'),
        "/hop.jpg": Reply(
            status=302, headers=(("Location", "http://other.test:{port}/final.jpg"),)
        ),
        "/final.jpg": Reply(JPEG, "image/jpeg"),
        "/shop.html": Reply(
            "<html><body>Caf\u00e9 <a href='/start.html'>home</a> pay here</body></html>".encode(
                "latin-1"
            ),
            LATIN1,
        ),
        "/go-shop": Reply(status=301, headers=(("Location", "/shop.html"),)),
        "/big.html": _page("x" * 50_000 + '<a href="/start.html">s</a>'),
        "/videos.html": _page(
            '<video src="/v/small.mp4"></video><video><source src="/v/big.mp4"></video>'
        ),
        "/v/small.mp4": Reply(SMALL_VIDEO, "video/mp4"),
        "/v/big.mp4": Reply(BIG_VIDEO, "video/mp4"),
    }
    site = TinySite(routes).start()
    yield site
    site.stop()


RESOLVER = StaticResolver({"site.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})


class Collect:
    def __init__(self) -> None:
        self.sightings = []

    def accept(self, sighting, hashes) -> None:
        self.sightings.append((sighting, hashes))


class Recording(InMemoryPoliteness):
    """In-memory politeness that notes every slot asked for: (host, delay)."""

    def __init__(self) -> None:
        super().__init__(4, 0.0)
        self.asked: list[tuple[str, float | None]] = []

    @asynccontextmanager
    async def slot(self, host, *, delay=None):
        self.asked.append((host, delay))
        async with super().slot(host, delay=delay):
            yield


def crawl(settings, seeds, *, depth=0, overrides=None, **kwargs):
    frontier = InMemoryFrontier()
    sink = Collect()
    crawler = Crawler(
        settings.replace(**(CRAWL_OVERRIDES | (overrides or {}))),
        scope=CrawlScope(seeds=tuple(seeds), max_depth=depth),
        frontier=frontier,
        sink=sink,
        resolver=RESOLVER,
        crawl_id="c7",
        **kwargs,
    )

    async def go():
        try:
            return await crawler.run()
        finally:
            await crawler.aclose()

    return asyncio.run(go()), sink, frontier


def test_every_redirect_hop_waits_for_a_slot_of_its_own_host(settings, tiny):
    polite = Recording()
    stats, sink, _ = crawl(settings, [tiny.url("/start.html", "site.test")], politeness=polite)
    assert [host for host, _ in polite.asked] == ["site.test", "site.test", "other.test"]
    assert [(s.media_url, s.final_url) for s, _ in sink.sightings] == [
        (tiny.url("/hop.jpg", "site.test"), tiny.url("/final.jpg", "other.test"))
    ]
    assert [h for h, _, _ in tiny.log[-3:]] == ["site.test", "site.test", "other.test"]
    assert stats.ended == "exhausted"


def test_observers_see_each_page_after_its_links_and_a_failing_one_is_logged(
    settings, tiny, caplog
):
    seen: list[PageSeen] = []
    frontier_at_call: list[bool] = []

    def good(page: PageSeen) -> None:
        seen.append(page)
        if page.final_url.endswith("/start.html"):
            link = tiny.url("/shop.html", "site.test")
            frontier_at_call.append(frontier.get(link).url == link)

    def bad(page: PageSeen) -> None:
        raise RuntimeError("observer bug")

    caplog.set_level(logging.ERROR, logger="keepdown.crawl.observers")
    frontier = InMemoryFrontier()
    crawler = Crawler(
        settings.replace(**CRAWL_OVERRIDES),
        scope=CrawlScope(
            seeds=(tiny.url("/start.html", "site.test"), tiny.url("/go-shop", "site.test"))
        ),
        frontier=frontier,
        sink=Collect(),
        resolver=RESOLVER,
        crawl_id="c7",
        page_observers=[bad, good],
    )

    async def go():
        try:
            return await crawler.run()
        finally:
            await crawler.aclose()

    stats = asyncio.run(go())
    assert stats["page/fetched"] == 3  # start, go-shop (-> shop), shop (as linked)
    assert frontier_at_call == [True]  # links were in the frontier when the observer ran
    by_url = {p.page_url: p for p in seen}
    assert len(seen) == 3 == stats["observer/error"]
    shop = by_url[tiny.url("/go-shop", "site.test")]
    assert shop.final_url == tiny.url("/shop.html", "site.test")
    assert (shop.crawl_id, shop.status, shop.server_ip) == ("c7", 200, "127.0.0.1")
    assert "Caf\u00e9" in shop.text
    assert "pay here" in shop.text
    assert shop.fetched_at.tzinfo is not None
    assert caplog.text.count("page observer") == 3
    with pytest.raises(AttributeError):
        shop.text = "changed"  # frozen


def test_observer_text_is_bounded_by_the_page_byte_limit(settings, tiny):
    seen: list[PageSeen] = []
    overrides = {"crawl_max_page_bytes": 10_000}
    crawl(
        settings,
        [tiny.url("/big.html", "site.test")],
        overrides=overrides,
        page_observers=[seen.append],
    )
    assert len(seen) == 1
    assert len(seen[0].text.encode()) <= 10_000


def test_videos_are_hashed_within_the_media_byte_limit(settings, tiny):
    seeds = [tiny.url("/videos.html", "site.test")]
    stats, sink, frontier = crawl(settings, seeds, overrides={"crawl_max_media_bytes": 2000})
    assert [(s.media_url, s.found_by, s.content_type) for s, _ in sink.sightings] == [
        (tiny.url("/v/small.mp4", "site.test"), "video[src]", "video/mp4")
    ]
    sighting, hashes = sink.sightings[0]
    assert sighting.sha256 == hashlib.sha256(SMALL_VIDEO).hexdigest()
    assert sighting.pdq is None
    assert hashes.pdq_error is not None
    big = frontier.get(
        tiny.url("/v/big.mp4", "site.test"),
        kind=UrlKind.MEDIA,
        via=tiny.url("/videos.html", "site.test"),
    )
    assert big.state == "failed"
    assert big.last_error.startswith("too_large")
    assert stats["media/too_large"] == 1
