"""The report store on SQLite and PostgreSQL: de-duplication, re-crawl policy, receipts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keepdown.crawl.scope_request import ScopeRequest
from keepdown.errors import InvalidInput, NotFound
from keepdown.storage import open_storage_url
from keepdown.storage.crawl_store import CrawlStore, ReportStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def stores(database_url, settings):
    storage = open_storage_url(database_url)

    def make(**overrides):
        crawls = CrawlStore(storage.engine, settings.replace(**overrides))
        return ReportStore(storage.engine, crawls), crawls

    yield make
    storage.close()


def test_never_recrawl_when_the_policy_is_off(stores):
    reports, crawls = stores(crawl_recrawl_after_hours=0)
    first = reports.intake("http://a.example/", reporter_type="hotline", now=T0)
    crawls.finish(first.record.crawl_id, now=T0, reason="frontier exhausted")
    later = reports.intake(
        "http://a.example/", reporter_type="public", now=T0 + timedelta(days=400)
    )
    assert (later.outcome, later.record.crawl_id) == ("repeat", first.record.crawl_id)


def test_a_recrawl_keeps_the_earlier_scope_unless_another_is_asked(stores):
    reports, crawls = stores(crawl_recrawl_after_hours=1)
    asked = ScopeRequest(max_depth=1, include=("/g/",))
    first = reports.intake("http://b.example/", reporter_type="hotline", now=T0, scope=asked)
    crawls.finish(first.record.crawl_id, now=T0, reason="frontier exhausted")
    again = reports.intake("http://b.example/", reporter_type="public", now=T0 + timedelta(hours=2))
    assert again.outcome == "recrawl"
    redo = crawls.get(again.record.crawl_id)
    assert (redo.max_depth, redo.include) == (1, ("/g/",))
    crawls.finish(redo.id, now=T0 + timedelta(hours=2), reason="frontier exhausted")
    wider = reports.intake(
        "http://b.example/",
        reporter_type="hotline",
        now=T0 + timedelta(hours=4),
        scope=ScopeRequest(max_depth=3),
    )
    assert wider.outcome == "recrawl"
    assert crawls.get(wider.record.crawl_id).max_depth == 3
    assert [s["outcome"] for s in reports.submissions(first.record.reference)] == [
        "new",
        "recrawl",
        "recrawl",
    ]


def test_receipts_open_one_report_status_only(stores):
    reports, crawls = stores()
    mine = reports.intake("http://c.example/", reporter_type="public", now=T0, receipt=True)
    assert mine.receipt
    assert mine.public_reference
    assert len(mine.receipt) >= 20
    assert reports.public_status(mine.public_reference, mine.receipt)["status"] == "received"
    crawls.start_turn(mine.record.crawl_id, now=T0)
    assert reports.public_status(mine.public_reference, mine.receipt)["status"] == "checking"
    crawls.pause(mine.record.crawl_id, until=T0 + timedelta(hours=1), reason="later")
    assert reports.public_status(mine.public_reference, mine.receipt)["status"] == "checking"
    staff = reports.intake("http://d.example/", reporter_type="hotline", now=T0)
    assert staff.receipt is None
    with pytest.raises(NotFound):
        reports.public_status(staff.record.reference, mine.receipt)
    with pytest.raises(NotFound):
        reports.public_status(mine.public_reference, "x" * 24)


def test_bad_reports_store_nothing(stores):
    reports, crawls = stores()
    for bad in (
        {"url": "ftp://e.example/", "reporter_type": "hotline"},
        {"url": "http://e.example/", "reporter_type": "anonymous"},
        {
            "url": "http://e.example/",
            "reporter_type": "hotline",
            "scope": ScopeRequest(max_depth=99),
        },
    ):
        with pytest.raises(InvalidInput):
            reports.intake(now=T0, **bad)
    assert reports.list_reports() == []
    assert crawls.next_to_run(now=T0) is None
