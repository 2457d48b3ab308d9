"""The fetcher against the loopback site: limits, retries, redirects, sniffing, peer IP."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from keepdown.crawl.failures import failure_of
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import StaticResolver
from keepdown.errors import FetchError, RobotsDisallowed


def _fetch(settings, url, *, max_bytes=1_000_000, sleeps=None, before_hop=None, resolver=None):
    async def sleep(seconds):
        if sleeps is not None:
            sleeps.append(seconds)

    async def go():
        async with Fetcher(settings, sleep=sleep, resolver=resolver) as fetcher:
            return await fetcher.fetch(url, max_bytes=max_bytes, before_hop=before_hop)

    return asyncio.run(go())


def test_a_page_with_status_type_peer_ip_and_user_agent(fresh_site, crawl_settings):
    result = _fetch(crawl_settings, fresh_site.url("/index.html"))
    assert result.ok
    assert result.status == 200
    assert result.content_type == "text/html"
    assert result.declared_type.startswith("text/html")
    assert result.server_ip == "127.0.0.1"
    assert result.http_version == "HTTP/1.1"
    assert result.final_url == fresh_site.url("/index.html")
    assert result.redirects == ()
    assert not result.truncated
    assert b"Page 0" in result.body
    assert crawl_settings.crawl_user_agent in fresh_site.user_agents


def test_an_endless_image_is_cut_at_max_bytes(fresh_site, crawl_settings):
    result = _fetch(crawl_settings, fresh_site.url("/img/endless.jpg"), max_bytes=300_000)
    assert result.truncated
    assert len(result.body) == 300_000
    assert result.content_type == "image/jpeg"


def test_a_declared_10_gb_image_is_not_read_at_all(fresh_site, crawl_settings):
    result = _fetch(crawl_settings, fresh_site.url("/img/huge.jpg"), max_bytes=300_000)
    assert result.truncated
    assert result.body == b""


def test_sniffing_beats_the_declared_type(fresh_site, crawl_settings):
    fake = _fetch(crawl_settings, fresh_site.url("/img/fake.jpg"))
    assert fake.declared_type == "image/jpeg"
    assert fake.content_type == "text/html"
    real = _fetch(crawl_settings, fresh_site.url("/view/k3.html"))
    assert real.declared_type == "text/html"
    assert real.content_type == "image/jpeg"


def test_a_redirect_chain_is_followed_and_recorded(fresh_site, crawl_settings):
    result = _fetch(crawl_settings, fresh_site.url("/redirect/page/1"))
    assert result.final_url == fresh_site.url("/landing.html")
    assert result.redirects == (
        fresh_site.url("/redirect/page/1"),
        fresh_site.url("/redirect/page/2"),
    )


def test_a_redirect_loop_stops_at_the_limit(fresh_site, crawl_settings):
    with pytest.raises(FetchError, match="more than 3 redirects") as caught:
        _fetch(crawl_settings.replace(crawl_max_redirects=3), fresh_site.url("/loop/1"))
    assert caught.value.details["permanent"] is True
    assert [p for _, p in fresh_site.requests] == ["/loop/1", "/loop/2", "/loop/3", "/loop/4"]


def test_the_hop_check_runs_at_every_redirect(fresh_site, crawl_settings):
    seen = []

    async def check(url):
        seen.append(url)
        if url.endswith("/landing.html"):
            raise RobotsDisallowed("no", url=url)

    with pytest.raises(RobotsDisallowed):
        _fetch(crawl_settings, fresh_site.url("/redirect/page/1"), before_hop=check)
    assert [u.rsplit("/", 1)[1] for u in seen] == ["1", "2", "landing.html"]
    assert "/landing.html" not in [p for _, p in fresh_site.requests]


def test_a_503_is_retried_after_retry_after(fresh_site, crawl_settings):
    sleeps = []
    result = _fetch(crawl_settings, fresh_site.url("/flaky.html"), sleeps=sleeps)
    assert result.status == 200
    assert fresh_site.counts["/flaky.html"] == 2
    assert sleeps == [0.01]  # Retry-After: 0, so the backoff (0.01 * 2**0) decides


def test_5xx_retries_back_off_exponentially_then_give_the_status_back(fresh_site, crawl_settings):
    sleeps = []
    settings = crawl_settings.replace(crawl_max_retries=3, crawl_retry_backoff_seconds=0.5)
    result = _fetch(settings, fresh_site.url("/down.html"), sleeps=sleeps)
    assert result.status == 503
    assert fresh_site.counts["/down.html"] == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_a_long_retry_after_is_handed_back_not_slept(fresh_site, crawl_settings):
    sleeps = []
    result = _fetch(crawl_settings, fresh_site.url("/busy.html"), sleeps=sleeps)
    assert result.status == 429
    assert result.retry_after == 3600
    assert sleeps == []
    assert fresh_site.counts["/busy.html"] == 1


def test_a_slow_response_times_out_after_retries(fresh_site, crawl_settings):
    settings = crawl_settings.replace(crawl_timeout_seconds=0.2, crawl_max_retries=1)
    with pytest.raises(FetchError, match="timed out"):
        _fetch(settings, fresh_site.url("/slow.html"))
    assert fresh_site.counts["/slow.html"] == 2


def test_a_total_deadline_stops_a_response_that_never_ends(fresh_site, crawl_settings):
    settings = crawl_settings.replace(crawl_max_fetch_seconds=0.3, crawl_max_retries=0)
    with pytest.raises(FetchError, match="timed out"):
        _fetch(settings, fresh_site.url("/img/endless.jpg"), max_bytes=10**12)


def test_connection_refused_is_a_fetch_error(crawl_settings):
    with pytest.raises(FetchError, match="failed"):
        _fetch(crawl_settings.replace(crawl_max_retries=0), "http://127.0.0.1:9/")


def test_a_gzip_bomb_is_cut_at_max_bytes_after_decompression(fresh_site, crawl_settings):
    result = _fetch(crawl_settings, fresh_site.url("/gzip-bomb.html"), max_bytes=1_000_000)
    assert result.truncated
    assert len(result.body) == 1_000_000


def test_one_fetch_shares_one_time_budget_across_its_retries(fresh_site, crawl_settings):
    # Each request may take 0.3 s; the whole fetch 0.5 s: the 6 requests retries=5 would
    # allow at most two requests, however many retries are allowed.
    settings = crawl_settings.replace(
        crawl_timeout_seconds=0.3, crawl_max_fetch_seconds=0.5, crawl_max_retries=5
    )
    with pytest.raises(FetchError) as caught:
        _fetch(settings, fresh_site.url("/slow.html"))
    assert fresh_site.counts["/slow.html"] == 2
    assert caught.value.details["reason"] == "timeout"


def test_retries_let_the_hosts_slot_go_while_they_wait(fresh_site, crawl_settings):
    held = []
    events = []

    @contextlib.asynccontextmanager
    async def slot(url):
        held.append(url)
        events.append("take")
        yield
        events.append("give")

    async def sleep(seconds):
        events.append(f"sleep {seconds:g}")

    async def go():
        settings = crawl_settings.replace(crawl_max_retries=2, crawl_retry_backoff_seconds=0.5)
        async with Fetcher(settings, sleep=sleep) as fetcher:
            return await fetcher.fetch(fresh_site.url("/down.html"), max_bytes=1000, hop_slot=slot)

    assert asyncio.run(go()).status == 503
    assert events == ["take", "give", "sleep 0.5", "take", "give", "sleep 1", "take", "give"]


def test_before_request_is_called_for_every_request_sent(fresh_site, crawl_settings):
    sent = []

    async def before_request(url):
        sent.append(url.rsplit("/", 1)[-1])

    async def go():
        async with Fetcher(crawl_settings) as fetcher:
            return await fetcher.fetch(
                fresh_site.url("/redirect/page/1"),
                max_bytes=100_000,
                before_request=before_request,
                retries=0,
            )

    assert asyncio.run(go()).status == 200
    assert sent == ["1", "2", "landing.html"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/", "refused"),
        ("http://no-such-host.invalid/", "dns"),
        ("http://10.0.0.1/", "blocked"),
        ("/loop/1", "redirects"),
        ("/slow.html", "timeout"),
    ],
)
def test_every_failure_says_its_class(fresh_site, crawl_settings, url, reason):
    settings = crawl_settings.replace(crawl_max_retries=0, crawl_timeout_seconds=0.2)
    full = fresh_site.url(url) if url.startswith("/") else url
    with pytest.raises(FetchError) as caught:  # no name resolves: nothing leaves the machine
        _fetch(settings, full, resolver=StaticResolver({}))
    assert failure_of(caught.value) == reason
