"""What became of a crawl: one outcome per crawl, true to what its URLs and sightings say.

The rules on hand-made summaries, then the SQL summaries of real frontier rows and sightings
on SQLite and PostgreSQL (the crawler's own end-to-end behaviour is in test_reported_status.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from keepdown.clock import utc
from keepdown.crawl.frontier import UrlKind
from keepdown.crawl.outcome import (
    CrawlSummary,
    Outcome,
    UrlStatus,
    outcome_of,
    public_status,
)
from keepdown.storage.crawl_outcomes import crawl_summaries, crawl_summary, url_statuses
from keepdown.storage.crawl_store import CrawlStore
from keepdown.storage.tables_crawl import sightings

T0 = utc(2026, 3, 1)


def _seed(state="done", failure="", error="", url="https://example.org/x"):
    return UrlStatus(url, "page", 0, "", state, 1, failure, error)


def _summary(state="done", seeds=(), started=True, **kw):
    return CrawlSummary(1, state, "", started, tuple(seeds), **kw)


@pytest.mark.parametrize(
    ("summary", "outcome", "reason"),
    [
        (_summary("pending", started=False), Outcome.RECEIVED, ""),
        (_summary("pending", [_seed("pending")]), Outcome.IN_PROGRESS, ""),  # between turns
        (_summary("running", [_seed("in_progress")]), Outcome.IN_PROGRESS, ""),
        (_summary("paused", [_seed("pending")]), Outcome.IN_PROGRESS, ""),
        (_summary("done", [_seed()], urls={("page", "done"): 1}), Outcome.NOTHING_KNOWN, ""),
        (_summary("done", [_seed()], confirmed=1, sightings=3), Outcome.KNOWN_FOUND, ""),
        (_summary("done", [_seed()], pending_review=1), Outcome.KNOWN_FOUND, ""),
        (_summary("done", [_seed("failed", "dns", "cannot resolve")]), Outcome.UNREACHABLE, "dns"),
        (_summary("done", [_seed("failed", "refused")]), Outcome.UNREACHABLE, "refused"),
        (_summary("done", [_seed("failed", "timeout")]), Outcome.UNREACHABLE, "timeout"),
        (_summary("done", [_seed("failed", "blocked")]), Outcome.UNREACHABLE, "blocked"),
        (_summary("done", [_seed("failed", "robots")]), Outcome.UNREACHABLE, "robots"),
        (_summary("done", [_seed("failed", "http", "HTTP 404")]), Outcome.UNREACHABLE, "http"),
        (_summary("stopped", [_seed("pending")]), Outcome.STOPPED, ""),
    ],
)
def test_the_outcome_rules(summary, outcome, reason):
    got = outcome_of(summary)
    assert (got.outcome, got.reason) == (outcome, reason)


def test_one_seed_fetched_is_not_unreachable_and_failures_are_said():
    summary = _summary(
        "done",
        [_seed("failed", "dns"), _seed("done", url="https://example.org/y")],
        urls={("page", "done"): 1, ("page", "failed"): 1, ("media", "failed"): 2},
    )
    got = outcome_of(summary)
    assert got.outcome is Outcome.NOTHING_KNOWN
    assert got.detail == "1 pages and 0 media checked; 3 addresses could not be fetched"


def test_a_seed_that_was_an_image_not_media_is_not_unreachable():
    # failed as not_media / too_large: the address answered, it was just not hashable
    got = outcome_of(_summary("done", [_seed("failed", "too_large")]))
    assert got.outcome is Outcome.NOTHING_KNOWN


def test_the_public_never_learns_what_was_found():
    found = outcome_of(_summary("done", [_seed()], confirmed=2))
    nothing = outcome_of(_summary("done", [_seed()]))
    assert public_status(found) == public_status(nothing) == {"status": "checked", "reason": None}
    dns = outcome_of(_summary("done", [_seed("failed", "dns", "cannot resolve 'x'")]))
    assert public_status(dns) == {"status": "unreachable", "reason": "dns"}
    assert public_status(outcome_of(_summary("pending", started=False)))["status"] == "received"
    assert public_status(outcome_of(_summary("running")))["status"] == "checking"


# --- on SQL ---------------------------------------------------------------------------------


def _crawl(store: CrawlStore, seed: str, state: str = "done"):
    crawl = store.create([seed], now=T0)
    if state != "pending":
        store.start_turn(crawl.id, now=T0)
    if state in ("done", "stopped"):
        store.set_state(crawl.id, state, now=T0 + timedelta(minutes=1), reason="frontier exhausted")
    return crawl.id


def _settle(store: CrawlStore, crawl_id: int, outcomes: dict[tuple[str, str, str], tuple]):
    """outcomes: (kind, url, via) -> ("done",) or ("failed", failure, error)."""
    frontier = store.frontier(crawl_id)
    for kind, url, via in outcomes:
        frontier.add(url, kind=UrlKind(kind), depth=0 if not via else 1, via=via)
    leased = frontier.lease(now=T0, limit=100, lease_seconds=60)
    for item in leased:
        item = frontier.charge(item)
        what = outcomes[(item.kind.value, item.url, item.via)]
        if what[0] == "done":
            frontier.complete(item)
        else:
            frontier.fail(item, error=what[2], failure=what[1])


def _sighting(engine, crawl_id, page, media, state):
    with engine.begin() as conn:
        conn.execute(
            insert(sightings).values(
                crawl_id=crawl_id,
                sighting_key=f"{crawl_id}|{page}|{media}".ljust(64, "0")[:64],
                page_url=page,
                media_url=media,
                final_url=media,
                sha256="0" * 64,
                md5="0" * 32,
                sha1="0" * 40,
                size=1,
                http_status=200,
                seen_at=T0,
                state=state,
            )
        )


def test_summaries_outcomes_and_url_statuses_from_sql(storage, settings):
    engine = storage.engine
    store = CrawlStore(engine, settings)
    page, other = "https://site.example/", "https://site.example/a.html"
    img, bad = "https://cdn.example/k.jpg", "https://cdn.example/gone.jpg"

    received = _crawl(store, "https://r.example/", "pending")
    unreachable = _crawl(store, "https://nowhere.example/")
    _settle(
        store,
        unreachable,
        {
            ("page", "https://nowhere.example/", ""): (
                "failed",
                "dns",
                "fetch_error: cannot resolve host",
            )
        },
    )
    found = _crawl(store, page)
    _settle(
        store,
        found,
        {
            ("page", page, ""): ("done",),
            ("page", other, ""): ("failed", "http", "HTTP 404"),
            ("media", img, page): ("done",),
            ("media", bad, page): ("failed", "http", "HTTP 410"),
        },
    )
    _sighting(engine, found, page, img, "confirmed")
    _sighting(engine, found, page, img + "?2", "unmatched")

    every = crawl_summaries(engine, [received, unreachable, found, 999])
    assert set(every) == {received, unreachable, found}
    assert outcome_of(every[received]).outcome is Outcome.RECEIVED
    dns = outcome_of(every[unreachable])
    assert (dns.outcome, dns.reason) == (Outcome.UNREACHABLE, "dns")
    assert "cannot resolve host" in dns.detail
    known = crawl_summary(engine, found)
    assert outcome_of(known).outcome is Outcome.KNOWN_FOUND
    assert (known.sightings, known.confirmed, known.pending_review) == (2, 1, 0)
    assert known.failures == {"http": 2}
    assert known.failing_hosts == (("cdn.example", 1), ("site.example", 1))
    assert known.count("page") == 2
    assert known.to_dict()["media"] == {"pending": 0, "in_progress": 0, "done": 1, "failed": 1}

    statuses, total = url_statuses(engine, found)
    assert total == 4
    by_url = {s.url: s for s in statuses}
    assert (by_url[page].sightings, by_url[page].matched) == (2, 1)
    assert (by_url[img].sightings, by_url[img].matched, by_url[img].via) == (1, 1, page)
    assert (by_url[bad].state, by_url[bad].failure, by_url[bad].last_error) == (
        "failed",
        "http",
        "HTTP 410",
    )
    assert by_url[bad].attempts == 1
    failed, total_failed = url_statuses(engine, found, states=["failed"], limit=1)
    assert total_failed == 2
    assert len(failed) == 1
    media, _ = url_statuses(engine, found, kinds=["media"])
    assert {s.url for s in media} == {img, bad}
