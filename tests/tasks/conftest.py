"""Fixtures for the workers: the loopback test site, a real SMTP server, banks of benign
stand-ins, a provider for the site's address, and the checks both worker tests make.

"Known material" is benign: synthetic pictures whose hashes were put in banks; the site is
served on 127.0.0.1 by this test process.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from keepdown.app import open_crawl_services, open_notice_services
from keepdown.clock import SystemClock
from keepdown.notices.providers import Provider
from keepdown.storage.crawl_store import list_sightings
from tests.crawl.conftest import CRAWL_OVERRIDES
from tests.crawl.site import TestSite
from tests.crawl.test_db_crawl import KNOWN_IN, TRUSTED, seed_banks
from tests.notices.conftest import Mailbox, smtp  # noqa: F401  (fixture)

__all__ = ["Mailbox", "check_notices", "check_sightings", "env_of", "prepare", "report"]

REDIS_URL = "redis://127.0.0.1:6379/9"  # a database of its own; keys named per test run

WORKER_SETTINGS = {
    **CRAWL_OVERRIDES,
    "crawl_lease_seconds": 10.0,
    "crawl_max_attempts": 3,
    "crawl_turn_pages": 0,
    "crawl_respect_robots": True,
    "smtp_host": "127.0.0.1",
    "smtp_tls": "none",
    "smtp_timeout_seconds": 5,
    "notice_from_address": "notices@hotline.test",
    "notice_worker_seconds": 1,
    "notice_delivery_lease_seconds": 3,
    "worker_periodic_seconds": 1,
    "worker_crawl_slice_urls": 40,
    "worker_crawl_slice_seconds": 8,
    "worker_crawl_parallelism": 2,
    # the hotline running these workers is the operator: its analysts do the case work
    "operator_organisation": "hotline",
    # notices carry signed links to this loopback API; without it they are drafted, not sent
    "notice_links_on_loopback": True,
}


@pytest.fixture(scope="module")
def site() -> Iterator[TestSite]:
    served = TestSite().start()
    yield served
    served.stop()


@pytest.fixture
def queue_name() -> str:
    return f"kd-test-{uuid.uuid4().hex[:10]}"


def prepare(settings: Any, site: TestSite) -> tuple[dict[int, int], str]:
    """Banks of the site's known stand-ins, a provider for 127.0.0.1; the seed URL."""
    entries = seed_banks(settings, site)
    notices = open_notice_services(settings)
    try:
        notices.providers.add(
            Provider(
                name="Loopback Hosting", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@lo.test",)
            ),
            SystemClock().now(),
        )
    finally:
        notices.close()
    return entries, site.url("/index.html")


def env_of(settings: Any) -> dict[str, str]:
    """KEEPDOWN_* variables for the worker settings (a subprocess, or the CLI's report)."""
    values = {**WORKER_SETTINGS, "data_dir": str(settings.data_path)}
    values["database_url"] = settings.resolved_database_url
    values["smtp_port"] = settings.smtp_port
    return {f"KEEPDOWN_{k.upper()}": str(v) for k, v in values.items()}


def report(settings: Any, url: str) -> None:
    """Report ``url`` with the CLI (its crawl takes the crawl settings of ``settings``)."""
    from click.testing import CliRunner

    from keepdown.cli import cli

    done = CliRunner(env=env_of(settings)).invoke(cli, ["report", url])
    assert done.exit_code == 0, done.output


def check_sightings(settings: Any, site: TestSite, entries: dict[int, int]) -> list[dict]:
    """Every planted stand-in found exactly once, nothing else matched; the rows."""
    services = open_crawl_services(settings)
    try:
        rows = list_sightings(services.storage.engine)
    finally:
        services.close()
    places = [(r["page_url"], r["media_url"], r["archive_member"]) for r in rows]
    assert len(places) == len(set(places)), "a sighting was recorded twice"
    found = Counter(
        (r["page_url"], r["media_url"], r["archive_member"], entries[r["entry_id"]])
        for r in rows
        if r["state"] != "unmatched"
    )
    expected = {(site.url(p.page), site.url(p.media), p.member, p.known) for p in site.planted}
    assert set(found) == expected
    assert all(count == 1 for count in found.values())
    assert {r["bank"] for r in rows if r["state"] == "confirmed"} <= {TRUSTED}
    confirmed = [r for r in rows if r["state"] == "confirmed"]
    originals = [
        p for p in site.planted if KNOWN_IN[p.known] == TRUSTED and p.variant == "original"
    ]
    assert len(confirmed) == len(originals)  # exact on the trusted bank; the rest are reviewed
    return rows


def check_notices(settings: Any, smtp: Mailbox) -> list[Any]:  # noqa: F811
    """Every confirmed sighting in a notice; every notice e-mailed exactly once."""
    notices = open_notice_services(settings)
    try:
        made = notices.notices.list_notices(limit=10_000)
        assert made, "no notice was drafted"
        for notice in made:
            mails = smtp.by_reference(notice.reference)
            assert len(mails) == 1, f"{notice.reference} was e-mailed {len(mails)} times"
        ids = [m["Message-ID"] for m in smtp.messages]
        assert len(ids) == len(set(ids))
        assert len(smtp.messages) == len(made)
        assert not notices.notices.candidates(), "a confirmed sighting is in no notice"
        return made
    finally:
        notices.close()
