"""Frontier protocol semantics: states, leases, keys, ordering.

Every test takes ``make_frontier`` (``max_attempts`` -> a fresh, empty Frontier). It is
parametrised in ``conftest.py``; a SQL implementation adds itself there and must pass the same
tests as the in-memory twin.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from keepdown.clock import utc
from keepdown.crawl.frontier import ALREADY_DUE, UrlKind, UrlState
from keepdown.errors import Conflict, NotFound

T0 = utc(2026, 1, 1)
PAGE, MEDIA = UrlKind.PAGE, UrlKind.MEDIA


def _lease(frontier, now=T0, limit=10, lease_seconds=60, **kw):
    return frontier.lease(now=now, limit=limit, lease_seconds=lease_seconds, **kw)


def test_a_page_is_known_once_media_once_per_page(make_frontier):
    f = make_frontier(3)
    assert f.add("http://x/a", kind=PAGE, depth=0)
    assert not f.add("http://x/a", kind=PAGE, depth=3, via="http://x/b")
    assert f.add("http://x/i.jpg", kind=MEDIA, depth=1, via="http://x/a")
    assert f.add("http://x/i.jpg", kind=MEDIA, depth=1, via="http://x/b")
    assert not f.add("http://x/i.jpg", kind=MEDIA, depth=1, via="http://x/a")
    assert f.count() == 3
    assert f.get("http://x/a").depth == 0
    with pytest.raises(NotFound):
        f.get("http://x/nope")


def test_lease_order_media_first_then_shallow_then_fifo(make_frontier):
    f = make_frontier(3)
    f.add("http://x/deep", kind=PAGE, depth=2)
    f.add("http://x/p1", kind=PAGE, depth=1)
    f.add("http://x/p2", kind=PAGE, depth=1)
    f.add("http://x/m", kind=MEDIA, depth=2, via="http://x/p1")
    assert [i.url for i in _lease(f, limit=3)] == ["http://x/m", "http://x/p1", "http://x/p2"]
    assert [i.url for i in _lease(f)] == ["http://x/deep"]
    assert _lease(f) == []


def test_lease_respects_kinds_and_not_before(make_frontier):
    f = make_frontier(3)
    f.add("http://x/p", kind=PAGE, depth=0)
    f.add("http://x/later", kind=PAGE, depth=0, not_before=T0 + timedelta(seconds=30))
    f.add("http://x/m", kind=MEDIA, depth=1, via="http://x/p")
    assert [i.url for i in _lease(f, kinds=[MEDIA])] == ["http://x/m"]
    assert [i.url for i in _lease(f)] == ["http://x/p"]
    assert f.next_due() == T0 + timedelta(seconds=30)  # "later" (the leases expire at +60)
    assert [i.url for i in _lease(f, now=T0 + timedelta(seconds=30))] == ["http://x/later"]


def test_complete_fail_retry_and_counts(make_frontier):
    f = make_frontier(2)
    for name in "abc":
        f.add(f"http://x/{name}", kind=PAGE, depth=0)
    a, b, c = _lease(f)
    assert (a.state, a.attempts) == (UrlState.IN_PROGRESS, 1)
    assert a.lease_token
    f.complete(a, bytes_fetched=100)
    f.fail(b, error="HTTP 404", bytes_fetched=7)
    f.retry_later(c, error="HTTP 429", not_before=T0 + timedelta(seconds=5))
    assert f.get("http://x/a").state is UrlState.DONE
    assert f.get("http://x/b").last_error == "HTTP 404"
    again = f.get("http://x/c")
    assert again.state is UrlState.PENDING
    assert again.not_before == T0 + timedelta(seconds=5)
    assert f.bytes_fetched() == 107
    assert f.count(states=[UrlState.DONE, UrlState.FAILED]) == 2
    assert f.next_due() == T0 + timedelta(seconds=5)
    (c2,) = _lease(f, now=T0 + timedelta(seconds=5))
    assert c2.attempts == 2
    f.retry_later(c2, error="HTTP 429 again", not_before=T0 + timedelta(seconds=10))
    assert f.get("http://x/c").state is UrlState.FAILED  # out of attempts
    assert f.next_due() is None


def test_an_expired_lease_returns_the_url_and_the_old_holder_loses_it(make_frontier):
    f = make_frontier(3)
    f.add("http://x/a", kind=PAGE, depth=0)
    (first,) = _lease(f, lease_seconds=60)
    assert _lease(f, now=T0 + timedelta(seconds=59)) == []
    assert f.next_due() == T0 + timedelta(seconds=60)
    (second,) = _lease(f, now=T0 + timedelta(seconds=60))
    assert second.attempts == 2
    assert second.lease_token != first.lease_token
    with pytest.raises(Conflict):
        f.complete(first)
    f.complete(second)
    with pytest.raises(Conflict):
        f.fail(second, error="too late")  # settled once only
    assert f.get("http://x/a").state is UrlState.DONE


def test_done_is_never_leased_again(make_frontier):
    f = make_frontier(3)
    f.add("http://x/a", kind=PAGE, depth=0)
    (item,) = _lease(f)
    f.complete(item)
    assert _lease(f, now=T0 + timedelta(days=365)) == []
    assert not f.add("http://x/a", kind=PAGE, depth=0)


def test_a_lease_that_expires_on_every_attempt_ends_failed(make_frontier):
    f = make_frontier(2)
    f.add("http://x/crashes-us", kind=PAGE, depth=0)
    _lease(f, lease_seconds=1)
    _lease(f, now=T0 + timedelta(seconds=1), lease_seconds=1)
    assert _lease(f, now=T0 + timedelta(seconds=2)) == []
    item = f.get("http://x/crashes-us")
    assert item.state is UrlState.FAILED
    assert "lease expired" in item.last_error


def test_next_due_of_a_pending_item_without_not_before_is_already_due(make_frontier):
    f = make_frontier(3)
    assert f.next_due() is None
    f.add("http://x/a", kind=PAGE, depth=0)
    assert f.next_due() == ALREADY_DUE


def test_media_cache_keeps_hashes_not_bytes_and_evicts_least_recently_used():
    from keepdown.crawl.fetcher import FetchResult
    from keepdown.crawl.mediacache import MediaCache
    from keepdown.hashing import hash_bytes

    def result(url):
        return FetchResult(
            url=url,
            final_url=url,
            status=200,
            declared_type="image/jpeg",
            content_type="image/jpeg",
            body=b"\xff\xd8\xffdata",
            truncated=False,
            server_ip="192.0.2.1",
            http_version="HTTP/1.1",
            redirects=(),
            fetched_at=T0,
        )

    hashes = hash_bytes(b"not an image")
    cache = MediaCache(2)
    cache.put("a", result("a"), [("", hashes)])
    cache.put("b", result("b"), [("", hashes)])
    assert cache.get("a").result.body == b""  # bytes are dropped
    cache.put("c", result("c"), [("", hashes)])
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert len(cache) == 2
    off = MediaCache(0)
    off.put("a", result("a"), [])
    assert off.get("a") is None
