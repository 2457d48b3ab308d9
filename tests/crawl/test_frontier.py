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


def _tried(frontier, **kw):
    """Lease and send a request for each: what a worker does."""
    return [frontier.charge(item) for item in _lease(frontier, **kw)]


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
    a, b, c = _tried(f)
    assert (a.state, a.attempts) == (UrlState.IN_PROGRESS, 1)
    assert a.lease_token
    f.complete(a, bytes_fetched=100)
    f.fail(b, error="HTTP 404", bytes_fetched=7, failure="http")
    f.retry_later(c, error="HTTP 429", not_before=T0 + timedelta(seconds=5), failure="http")
    assert f.get("http://x/a").state is UrlState.DONE
    assert (f.get("http://x/b").last_error, f.get("http://x/b").failure) == ("HTTP 404", "http")
    again = f.get("http://x/c")
    assert again.state is UrlState.PENDING
    assert again.not_before == T0 + timedelta(seconds=5)
    assert f.bytes_fetched() == 107
    assert f.count(states=[UrlState.DONE, UrlState.FAILED]) == 2
    assert f.next_due() == T0 + timedelta(seconds=5)
    (c2,) = _tried(f, now=T0 + timedelta(seconds=5))
    assert c2.attempts == 2
    f.retry_later(c2, error="HTTP 429 again", not_before=T0 + timedelta(seconds=10), failure="http")
    assert f.get("http://x/c").state is UrlState.FAILED  # out of attempts
    assert f.get("http://x/c").failure == "http"
    assert f.next_due() is None


def test_an_expired_lease_returns_the_url_and_the_old_holder_loses_it(make_frontier):
    f = make_frontier(3)
    f.add("http://x/a", kind=PAGE, depth=0)
    (first,) = _tried(f, lease_seconds=60)
    assert _lease(f, now=T0 + timedelta(seconds=59)) == []
    assert f.next_due() == T0 + timedelta(seconds=60)
    (second,) = _tried(f, now=T0 + timedelta(seconds=60))
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
    _tried(f, lease_seconds=1)  # each time the request is sent, then the worker dies
    _tried(f, now=T0 + timedelta(seconds=1), lease_seconds=1)
    assert _lease(f, now=T0 + timedelta(seconds=2)) == []
    item = f.get("http://x/crashes-us")
    assert item.state is UrlState.FAILED
    assert "lease expired" in item.last_error
    assert item.failure == "worker_died"


def test_a_lease_is_not_an_attempt_a_request_is(make_frontier):
    f = make_frontier(3)
    f.add("http://x/a", kind=PAGE, depth=0)
    for second in range(0, 10, 2):  # leased five times, its worker dying before each request
        (item,) = _lease(f, now=T0 + timedelta(seconds=second), lease_seconds=1)
        assert item.attempts == 0
    (item,) = _lease(f, now=T0 + timedelta(seconds=10), lease_seconds=1)
    charged = f.charge(item)
    assert charged.attempts == 1
    assert f.get("http://x/a").attempts == 1
    assert f.charge(charged).attempts == 2  # a retry in the same lease is one more request
    (again,) = _lease(f, now=T0 + timedelta(seconds=20))  # expired once more
    with pytest.raises(Conflict):
        f.charge(item)  # the old holder lost it
    f.fail(again, error="x")
    assert f.get("http://x/a").state is UrlState.FAILED


def test_renew_keeps_a_lease_for_as_long_as_the_work_lasts(make_frontier):
    f = make_frontier(3)
    f.add("http://x/slow", kind=PAGE, depth=0)
    f.add("http://x/other", kind=PAGE, depth=0)
    slow, other = _lease(f, lease_seconds=10, owner="w1")
    assert f.renew([slow], now=T0 + timedelta(seconds=8), lease_seconds=10) == []
    (taken,) = _lease(f, now=T0 + timedelta(seconds=11))  # "other" was not renewed
    assert taken.url == "http://x/other"
    for second in (16, 24):  # the worker renews while the fetch runs
        assert f.renew([slow], now=T0 + timedelta(seconds=second), lease_seconds=10) == []
    assert _lease(f, now=T0 + timedelta(seconds=33)) == []
    held = f.get("http://x/slow")
    assert (held.lease_expires, held.lease_owner) == (T0 + timedelta(seconds=34), "w1")
    assert f.renew([other], now=T0 + timedelta(seconds=34), lease_seconds=10) == [other]
    f.complete(slow)


def test_release_gives_leases_back_without_an_attempt(make_frontier):
    f = make_frontier(3)
    for name in "ab":
        f.add(f"http://x/{name}", kind=PAGE, depth=0)
    a, b = _lease(f, owner="w1")
    b = f.charge(b)
    f.release([a, b])
    assert [
        (i.state, i.attempts, i.lease_owner) for i in map(f.get, ("http://x/a", "http://x/b"))
    ] == [
        (UrlState.PENDING, 0, ""),
        (UrlState.PENDING, 1, ""),  # its request was sent: that stays counted
    ]
    again = _lease(f)
    assert {i.url for i in again} == {"http://x/a", "http://x/b"}
    f.release([a])  # a stale copy: the lease is another's now, nothing happens
    assert f.get("http://x/a").state is UrlState.IN_PROGRESS


def test_reclaim_takes_back_the_leases_of_dead_workers_only(make_frontier):
    f = make_frontier(2)
    for name in "abcd":
        f.add(f"http://x/{name}", kind=PAGE, depth=0)
    a, b = _lease(f, limit=2, owner="dead-worker", lease_seconds=300)
    c, _d = _lease(f, limit=2, owner="live-worker", lease_seconds=300)
    f.charge(f.charge(b))  # b's two requests were sent: out of attempts
    asked = []

    def dead(owner):
        asked.append(owner)
        return owner == "dead-worker"

    assert f.reclaim(dead) == 2
    assert set(asked) == {"dead-worker", "live-worker"}
    assert (f.get("http://x/a").state, f.get("http://x/a").attempts) == (UrlState.PENDING, 0)
    gone = f.get("http://x/b")
    assert (gone.state, gone.failure) == (UrlState.FAILED, "worker_died")
    assert f.get("http://x/c").state is UrlState.IN_PROGRESS
    assert [i.url for i in _lease(f)] == ["http://x/a"]  # at once, not after 300 s
    with pytest.raises(Conflict):
        f.complete(a)  # the dead worker's token is void
    f.complete(c)
    assert f.reclaim(dead) == 0


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
