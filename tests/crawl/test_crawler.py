"""The crawl loop against the loopback test site: exactly the planted stand-ins, nothing else."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from keepdown.crawl.crawler import Crawler
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.transport import StaticResolver
from keepdown.crawl.urls import CrawlScope
from keepdown.events import EventLog, MediaSeen, PageFetched
from keepdown.settings import load_settings

from .conftest import CRAWL_OVERRIDES, BankSink

HOST = "site.test"


def _crawl(settings, site, resolver, sink, *, frontier=None, events=None, **scope_kw):
    scope = CrawlScope(
        seeds=(site.url("/index.html", HOST),), max_depth=settings.crawl_max_depth, **scope_kw
    )
    frontier = frontier if frontier is not None else InMemoryFrontier(max_attempts=2)
    crawler = Crawler(
        settings,
        scope=scope,
        frontier=frontier,
        sink=sink,
        events=events,
        resolver=resolver,
        crawl_id="t1",
    )

    async def go():
        try:
            return await crawler.run()
        finally:
            await crawler.aclose()

    return asyncio.run(go()), frontier


def _expected(site):
    return {
        (site.url(p.page, HOST), site.url(p.media, HOST), p.member, p.known) for p in site.planted
    }


def _found(sink):
    return {(s.page_url, s.media_url, s.archive_member, known) for s, known in sink.matches}


@pytest.fixture(scope="module")
def full_crawl(site, bank_hashes, tmp_path_factory):
    """One full crawl of the site, shared by the assertions below (it is the slow part)."""
    data_dir = str(tmp_path_factory.mktemp("crawl"))
    settings = load_settings(environ={}, overrides={"data_dir": data_dir, **CRAWL_OVERRIDES})
    sink = BankSink(dict(bank_hashes[0]), list(bank_hashes[1]))
    events = EventLog()
    site.reset_log()
    resolver = StaticResolver({HOST: ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    stats, frontier = _crawl(settings, site, resolver, sink, events=events)
    return {
        "stats": stats,
        "frontier": frontier,
        "sink": sink,
        "events": events,
        "requests": list(site.requests),
        "counts": Counter(site.counts),
    }


def test_finds_exactly_the_planted_stand_ins_where_they_are(full_crawl, site):
    assert _found(full_crawl["sink"]) == _expected(site)
    assert len(site.planted) == 11  # every element kind, redirects, ZIP, image-as-html


def test_finds_nothing_else(full_crawl, site):
    sink = full_crawl["sink"]
    matched = {id(s) for s, _ in sink.matches}
    unmatched = [s for s in sink.sightings if id(s) not in matched]
    assert unmatched, "benign media was crawled too"
    benign_paths = {f"/img/b{i}.jpg" for i in range(12)} | {
        "/files/pack.zip",
        "/img/bomb.png",
        "/media/clip.mp4",
    }
    assert {s.media_url.split(str(site.port), 1)[1] for s in unmatched} <= benign_paths


def test_respects_robots_and_scope(full_crawl):
    paths = [p for _, p in full_crawl["requests"]]
    assert not any(p.startswith("/private/") for p in paths)
    assert "/elsewhere.html" not in paths  # other.test is another site
    assert all(host.startswith(HOST) for host, _ in full_crawl["requests"])
    assert paths.count("/robots.txt") == 1


def test_fetches_nothing_twice_except_retries(full_crawl):
    """Pages once; media once per run (replayed for further pages); retried URLs again."""
    twice = {path for path, n in full_crawl["counts"].items() if n > 1}
    assert twice <= {"/slow.html", "/flaky.html"}
    assert full_crawl["stats"]["media/cache_hit"] > 0
    sightings_of = Counter(s.media_url for s in full_crawl["sink"].sightings)
    assert max(sightings_of.values()) > 1  # a benign picture shown on several pages


def test_hard_cases_end_where_they_should(full_crawl, site):
    frontier, stats = full_crawl["frontier"], full_crawl["stats"]
    url = lambda path: site.url(path, HOST)  # noqa: E731
    index = url("/index.html")

    def media(path):
        return frontier.get(url(path), kind=UrlKind.MEDIA, via=index)

    assert media("/img/endless.jpg").state is UrlState.FAILED
    assert media("/img/endless.jpg").last_error.startswith("too_large")
    assert media("/img/huge.jpg").last_error.startswith("too_large")
    assert media("/img/fake.jpg").last_error.startswith("not_media")
    assert stats["media/pdq_error/image_too_large"] >= 1  # the PNG bomb: exact hashes only
    assert frontier.get(url("/loop/1")).last_error.startswith("fetch_error: more than")
    assert frontier.get(url("/go/private")).last_error.startswith("blocked_address")
    assert frontier.get(url("/go/loopback2")).last_error.startswith("blocked_address")
    assert frontier.get(url("/slow.html")).state is UrlState.FAILED
    assert frontier.get(url("/flaky.html")).state is UrlState.DONE  # 503 then 200: retried
    assert frontier.get(url("/missing/root.html")).last_error == "HTTP 404"
    bomb_page = next(p.page for p in site.planted if p.media == "/files/pack.zip")
    bomb = frontier.get(url("/files/bomb.zip"), kind=UrlKind.MEDIA, via=url(bomb_page))
    assert bomb.last_error.startswith("input_too_large")  # declares more than the limit
    assert frontier.get(url("/private/secret.html")).last_error.startswith("robots_disallowed")
    assert stats["archive/skipped_entries"] == 1  # notes.txt in pack.zip
    assert frontier.count(states=[UrlState.PENDING, UrlState.IN_PROGRESS]) == 0


def test_records_sighting_details_and_events(full_crawl, site):
    sink, events = full_crawl["sink"], full_crawl["events"]
    by_media = {s.media_url: s for s, _ in sink.matches}
    redirected = by_media[site.url("/redirect/img/1", HOST)]
    assert redirected.final_url == site.url("/img/k3-mirrored.jpg", HOST)
    assert len(redirected.redirects) == 2
    served_as_html = by_media[site.url("/view/k3.html", HOST)]
    assert served_as_html.declared_type == "text/html"
    assert served_as_html.content_type == "image/jpeg"
    for s, _ in sink.matches:
        assert s.server_ip == "127.0.0.1"
        assert s.status == 200
        assert s.crawl_id == "t1"
        assert len(s.sha256) == 64
        assert s.size > 0
        assert s.seen_at.tzinfo is not None
    assert len(events.of(MediaSeen)) == len(sink.sightings)
    pages = events.of(PageFetched)
    assert len(pages) >= 300
    assert {e.url for e in pages} >= {site.url("/index.html", HOST), site.url("/p/299.html", HOST)}


def test_known_stand_ins_clear_the_default_quality_floor(site, settings):
    """So the real matcher (quality floor 50) finds them too, not only this test's sink."""
    from keepdown.hashing import hash_bytes

    for variants in site.known:
        for data in variants.values():
            assert hash_bytes(data).quality >= settings.pdq_quality_floor
