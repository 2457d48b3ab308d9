"""Issue 16, item 4: the public report form says nothing about what the hotline already knew.

Reporting a URL the staff had reported (and checked) handed the anonymous reporter the staff
report's reference and, with their receipt, its status. Now an anonymous submission gets a
reference of its own, and its status follows a check made after it: a known URL and a new
one look the same to the reporter, step by step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keepdown.errors import NotFound
from keepdown.storage import open_storage_url
from keepdown.storage.crawl_store import CrawlStore, ReportStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def stores(database_url, settings):
    storage = open_storage_url(database_url)
    crawls = CrawlStore(storage.engine, settings.replace(crawl_recrawl_after_hours=24))
    yield ReportStore(storage.engine, crawls), crawls
    storage.close()


@pytest.mark.parametrize("staff_crawl", ["done", "running", "pending"])
def test_a_known_url_and_a_new_one_look_the_same(stores, staff_crawl: str) -> None:
    reports, crawls = stores
    staff = reports.intake("http://known.example/x", reporter_type="hotline", now=T0)
    if staff_crawl != "pending":
        crawls.start_turn(staff.record.crawl_id, now=T0)
    if staff_crawl == "done":
        crawls.finish(staff.record.crawl_id, now=T0, reason="frontier exhausted")
    later = T0 + timedelta(minutes=5)
    known = reports.intake(
        "http://known.example/x", reporter_type="public", now=later, receipt=True
    )
    fresh = reports.intake(
        "http://fresh.example/y", reporter_type="public", now=later, receipt=True
    )
    for mine in (known, fresh):
        assert mine.public_reference is not None
        assert mine.receipt is not None
    assert known.public_reference != staff.record.reference
    assert len(known.public_reference) == len(staff.record.reference)
    with pytest.raises(NotFound):  # a receipt never opens the staff's report
        reports.public_status(staff.record.reference, known.receipt)

    def statuses() -> tuple[str, str]:
        return (
            reports.public_status(known.public_reference, known.receipt)["status"],
            reports.public_status(fresh.public_reference, fresh.receipt)["status"],
        )

    assert statuses() == ("received", "received")
    checks = {
        "known": reports_crawl(reports, known.public_reference),
        "fresh": reports_crawl(reports, fresh.public_reference),
    }
    for crawl_id in checks.values():
        crawls.start_turn(crawl_id, now=later)
    assert statuses() == ("checking", "checking")
    for crawl_id in checks.values():
        crawls.finish(crawl_id, now=later, reason="frontier exhausted")
    assert statuses() == ("checked", "checked")


def reports_crawl(reports: ReportStore, public_reference: str) -> int:
    """The crawl checking an anonymous submission (what its status follows)."""
    from sqlalchemy import select

    from keepdown.storage.tables_crawl import report_submissions

    with reports.engine.connect() as conn:
        return int(
            conn.execute(
                select(report_submissions.c.crawl_id).where(
                    report_submissions.c.public_reference == public_reference
                )
            ).scalar_one()
        )
