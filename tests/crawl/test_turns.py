"""Crawls take turns: a spent budget ends a crawl, a paused crawl waits aside, order is fair.

Regression: a crawl that reached its page budget used to stay ``running`` for ever, and
``next_to_run`` always handed out a running crawl first, so it blocked every other crawl (the
same for a crawl paused on a far-off Retry-After).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from keepdown.app import open_crawl_services
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import FrozenClock, SystemClock
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.crawl.transport import StaticResolver
from keepdown.storage import open_storage_url
from keepdown.storage.crawl_store import CrawlStore

from .conftest import CRAWL_OVERRIDES
from .test_db_crawl import HOST, RESOLVER

STARTED = [UrlState.DONE, UrlState.FAILED, UrlState.IN_PROGRESS]


@pytest.fixture
def crawl_services(settings):
    made = []

    def make(**overrides):
        values = CRAWL_OVERRIDES | {"crawl_max_depth": 3} | overrides
        services = open_crawl_services(
            settings.replace(**values), resolver=StaticResolver(RESOLVER)
        )
        made.append(services)
        return services

    yield make
    for services in made:
        services.close()


def _report(services, site, path: str) -> int:
    record, new = services.reports.submit(
        site.url(path, HOST), reporter_type="hotline", now=services.clock.now()
    )
    assert new
    return record.crawl_id


def _turns(output: str) -> list[tuple[int, str]]:
    """(crawl id, note) of each turn's last progress line."""
    found = []
    for line in output.splitlines():
        if " | " in line:
            head, note = line.split(" | ", 1)
            found.append((int(head.split(":")[0].removeprefix("crawl ")), note))
    return found


def test_a_spent_page_budget_finishes_the_crawl_and_the_next_one_runs(crawl_services, site):
    services = crawl_services(crawl_max_pages=5)
    first, second = _report(services, site, "/index.html"), _report(services, site, "/p/1.html")
    out = io.StringIO()
    assert run_worker(services, once=True, out=out) == 2
    for crawl_id in (first, second):
        crawl = services.crawls.get(crawl_id)
        assert (crawl.state, crawl.reason) == ("done", "page budget spent (5 pages)")
        assert crawl.finished_at is not None
        frontier = services.crawls.frontier(crawl_id)
        assert frontier.count(kinds=[UrlKind.PAGE], states=STARTED) == 5
        assert frontier.count(kinds=[UrlKind.PAGE], states=[UrlState.PENDING]) > 0
        assert frontier.count(kinds=[UrlKind.MEDIA], states=[UrlState.PENDING]) == 0
    assert [c for c, _ in _turns(out.getvalue())] == [first, second]
    assert run_worker(services, once=True, out=out) == 0  # nothing runnable is left


def test_a_paused_crawl_waits_aside_and_resumes_when_due(crawl_services, site):
    services = crawl_services()
    busy = _report(services, site, "/busy.html")  # 429 with Retry-After: 3600
    small = _report(services, site, "/landing.html")
    out = io.StringIO()
    assert run_worker(services, once=True, out=out) == 2
    paused = services.crawls.get(busy)
    assert paused.state == "paused"
    assert "retries due later" in paused.reason
    now = services.clock.now()
    assert timedelta(minutes=59) < paused.resume_at - now <= timedelta(hours=1)
    assert services.crawls.get(small).state == "done"
    assert [note.split(":")[0] for _, note in _turns(out.getvalue())] == ["paused", "done"]
    assert services.crawls.next_to_run(now=now) is None
    assert services.crawls.next_to_run(now=now + timedelta(hours=2)).id == busy


def test_crawls_take_fair_turns(crawl_services, site):
    services = crawl_services(crawl_turn_pages=3, crawl_max_depth=2)
    ids = [_report(services, site, "/p/1.html"), _report(services, site, "/p/2.html")]
    out = io.StringIO()
    turns = run_worker(services, once=True, out=out)
    order = [c for c, _ in _turns(out.getvalue())]
    assert len(order) == turns >= 4
    assert order[:4] == [ids[0], ids[1], ids[0], ids[1]]
    last_turn = {c: max(i for i, o in enumerate(order) if o == c) for c in ids}
    for i in range(len(order) - 1):
        if order[i] == order[i + 1]:  # two turns in a row only once the other is finished
            other = ids[1] if order[i] == ids[0] else ids[0]
            assert last_turn[other] < i + 1
    for crawl_id in ids:
        assert services.crawls.get(crawl_id).state == "done"


def test_max_pages_per_run_leaves_every_crawl_resumable(crawl_services, site):
    services = crawl_services()
    ids = [_report(services, site, "/p/1.html"), _report(services, site, "/p/2.html")]
    assert run_worker(services, once=True, max_pages=2, out=io.StringIO()) == 2
    for crawl_id in ids:
        crawl = services.crawls.get(crawl_id)
        assert crawl.state == "pending"
        pages = services.crawls.frontier(crawl_id).count(kinds=[UrlKind.PAGE], states=STARTED)
        assert pages == 2
    assert run_worker(services, once=True, out=io.StringIO()) >= 2
    assert {services.crawls.get(c).state for c in ids} == {"done"}


def test_next_to_run_order_on_the_database(database_url, settings):
    storage = open_storage_url(database_url)
    try:
        clock = FrozenClock(SystemClock().now())
        crawls = CrawlStore(storage.engine, settings)
        a, b, c = (crawls.create([f"http://{n}.test/"], now=clock.now()).id for n in "abc")
        assert crawls.next_to_run(now=clock.now()).id == a  # never run, oldest first
        crawls.start_turn(a, now=clock.now())
        assert crawls.get(a).state == "running"
        assert crawls.next_to_run(now=clock.now()).id == b
        clock.advance(1)
        crawls.start_turn(b, now=clock.now())
        clock.advance(1)
        crawls.start_turn(c, now=clock.now())
        assert crawls.next_to_run(now=clock.now()).id == a  # its turn is the oldest
        crawls.end_turn(a, reason="turn over")
        clock.advance(1)
        crawls.start_turn(a, now=clock.now())
        assert crawls.next_to_run(now=clock.now()).id == b
        crawls.pause(b, until=clock.now() + timedelta(hours=1), reason="later")
        crawls.finish(c, now=clock.now(), reason="frontier exhausted")
        assert crawls.next_to_run(now=clock.now()).id == a
        assert crawls.next_to_run(now=clock.now(), exclude={a}) is None
        assert not crawls.others_waiting(a, now=clock.now())
        later = clock.now() + timedelta(hours=2)
        assert crawls.others_waiting(a, now=later)
        assert crawls.next_to_run(now=later).id == b  # paused, due again, turn older than a's
        assert crawls.get(c).reason == "frontier exhausted"
    finally:
        storage.close()
