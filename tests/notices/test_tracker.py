"""The re-check tracker on its own: what counts as gone, present or an error, ZIP entries,
Retry-After, per-host politeness, watches, and concurrent passes; with a loopback host and
the real fetcher, and a frozen clock."""

from __future__ import annotations

import asyncio
import io
import socket
import zipfile
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from keepdown.app import open_notice_services
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.politeness import InMemoryPoliteness
from keepdown.crawl.transport import StaticResolver
from keepdown.errors import FetchError
from keepdown.events import LocationRechecked, RemovalConfirmed
from keepdown.notices import lifecycle as lc
from keepdown.notices.lifecycle import CheckResult, LocationState
from keepdown.notices.providers import Provider
from keepdown.notices.senders import RecordingSender
from keepdown.notices.tracker import Check, classify_error, decide_checks
from keepdown.storage.tables_crawl import sightings
from keepdown.testing import synthetic_jpeg

from .conftest import T0, add_sighting, known_image, seed_bank

H = timedelta(hours=1)
CONFIRM = lc.Policy().confirm_after  # a gone answer that needs confirming: checked again then
HOST = "files.host.test"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


class Tracked:
    """One provider at 127.0.0.1 and a notice sent for the paths given."""

    def __init__(self, settings, clock, site, **extra) -> None:
        self.clock, self.site = clock, site
        self.entries = seed_bank(settings, clock)
        self.sender = RecordingSender()
        self.services = open_notice_services(
            settings,
            clock=clock,
            resolver=StaticResolver({HOST: ["127.0.0.1"]}),
            senders={"email": self.sender},
            **extra,
        )
        self.services.providers.add(
            Provider(name="Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@h.test",)),
            clock.now(),
        )

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.site.port}{path}"

    def notify(self, *places: tuple[str, int, str]) -> dict[str, int]:
        """``(path, known image, archive member)`` -> location id by path+member."""
        for path, i, member in places:
            sid = add_sighting(
                self.services.storage.engine,
                self.services.storage.events,
                media_url=self.url(path),
                image=known_image(i),
                entries=self.entries,
                seen_at=self.clock.now(),
            )
            if member:
                with self.services.storage.engine.begin() as conn:
                    conn.execute(
                        update(sightings).where(sightings.c.id == sid).values(archive_member=member)
                    )
        asyncio.run(self.services.service.send_due())
        (notice,) = self.services.notices.list_notices()
        return {
            loc.media_url.rsplit("/", 1)[-1] + loc.archive_member: loc.id
            for loc in notice.locations
        }

    def recheck(self):
        return asyncio.run(self.services.tracker.recheck_due())

    def location(self, location_id: int):
        (notice,) = [n for n in self.services.notices.list_notices() if not n.reappearance]
        return notice.location(location_id)


@pytest.fixture
def tracked(nsettings, clock, sites):
    t = Tracked(nsettings, clock, sites[0])
    yield t
    t.services.close()


@pytest.mark.parametrize("status", [404, 410, 451])
def test_gone_statuses_confirm_removal_at_that_check(tracked, status):
    tracked.site.put("/a.jpg", known_image(0))
    ids = tracked.notify(("/a.jpg", 0, ""))
    tracked.site.answer("/a.jpg", status)
    tracked.clock.advance(24 * H)
    report = tracked.recheck()
    assert report.removals == [str(ids["a.jpg"])]
    loc = tracked.location(ids["a.jpg"])
    assert loc.status.state is LocationState.REMOVED
    assert loc.status.removed_at == T0 + 24 * H
    (event,) = [
        e for e in tracked.services.storage.events.read() if isinstance(e, RemovalConfirmed)
    ]
    assert event.first_notice_at == T0
    assert event.provider_id == str(loc.provider_id)


def test_changed_content_is_gone_once_confirmed_and_unchanged_is_present(tracked):
    tracked.site.put("/same.jpg", known_image(0))
    tracked.site.put("/page.jpg", known_image(1))
    tracked.site.put("/other.jpg", known_image(2))
    ids = tracked.notify(("/same.jpg", 0, ""), ("/page.jpg", 1, ""), ("/other.jpg", 2, ""))
    tracked.site.put("/page.jpg", b"<html><body>removed for abuse</body></html>", "text/html")
    tracked.site.put("/other.jpg", synthetic_jpeg(4242))  # another picture, in no bank
    tracked.clock.advance(24 * H)
    report = tracked.recheck()
    assert (report.checked, report.present, report.gone, report.errors) == (3, 1, 2, 0)
    assert (report.confirming, report.removals) == (2, [])  # a second check must agree
    page = tracked.location(ids["page.jpg"]).status
    assert (page.state, page.gone_since) == (LocationState.NOTIFIED, T0 + 24 * H)
    assert page.next_check_at == T0 + 24 * H + CONFIRM
    tracked.clock.advance(CONFIRM)
    again = tracked.recheck()
    assert again.checked == 2  # only the two waiting for confirmation
    assert sorted(again.removals) == sorted([str(ids["page.jpg"]), str(ids["other.jpg"])])
    assert tracked.location(ids["page.jpg"]).status.removed_at == T0 + 24 * H  # the first
    assert tracked.location(ids["same.jpg"]).status.state is LocationState.NOTIFIED
    assert tracked.location(ids["same.jpg"]).status.last_check_result is CheckResult.PRESENT
    answers = {
        (e.location_id, e.answer, e.confirming)
        for e in tracked.services.storage.events.read()
        if isinstance(e, LocationRechecked)
    }
    assert (str(ids["page.jpg"]), "unmatched", True) in answers
    assert (str(ids["same.jpg"]), "known", False) in answers


def test_errors_are_retried_and_never_count_as_removal(tracked):
    tracked.site.put("/a.jpg", known_image(0))
    ids = tracked.notify(("/a.jpg", 0, ""))
    tracked.site.answer("/a.jpg", 500)
    tracked.clock.advance(24 * H)
    report = tracked.recheck()
    assert (report.errors, report.removals) == (1, [])
    loc = tracked.location(ids["a.jpg"])
    assert loc.status.state is LocationState.NOTIFIED
    assert loc.status.next_check_at == T0 + 25 * H  # notice_recheck_error_hours = 1
    assert loc.status.errors_in_row == 1
    tracked.site.answer("/a.jpg", 503, {"Retry-After": "7200"})
    tracked.clock.advance(1 * H)
    tracked.recheck()
    assert tracked.location(ids["a.jpg"]).status.next_check_at == T0 + 27 * H  # waits 2 h
    tracked.site.answer("/a.jpg", 429)
    tracked.clock.advance(2 * H)
    tracked.recheck()
    loc = tracked.location(ids["a.jpg"])
    assert (loc.status.errors_in_row, loc.status.removed_at) == (3, None)
    tracked.site.answer("/a.jpg", 404)
    tracked.clock.advance(1 * H)
    assert tracked.recheck().removals == [str(ids["a.jpg"])]
    results = [
        e.result for e in tracked.services.storage.events.read() if isinstance(e, LocationRechecked)
    ]
    assert results == ["error", "error", "error", "gone"]


def test_a_zip_entry_is_checked_inside_the_archive(tracked):
    benign = synthetic_jpeg(77)
    tracked.site.put(
        "/pack.zip", _zip({"a/k0.jpg": known_image(0), "a/b.jpg": benign}), "application/zip"
    )
    ids = tracked.notify(("/pack.zip", 0, "a/k0.jpg"))
    key = "pack.zipa/k0.jpg"
    tracked.clock.advance(24 * H)
    report = tracked.recheck()
    assert (report.present, report.removals) == (1, [])  # the whole ZIP is not the image
    tracked.site.put("/pack.zip", _zip({"a/b.jpg": benign}), "application/zip")
    tracked.clock.advance(24 * H)
    assert tracked.recheck().removals == [str(ids[key])]
    loc = tracked.location(ids[key])
    assert loc.status.removed_at == T0 + 48 * H
    assert loc.archive_member == "a/k0.jpg"


def test_a_zip_past_the_limits_is_an_error_and_not_a_zip_is_gone_once_confirmed(
    nsettings, clock, sites
):
    t = Tracked(nsettings.replace(crawl_max_zip_entries=3), clock, sites[0])
    try:
        small = _zip({"k.jpg": known_image(0)})
        t.site.put("/p.zip", small, "application/zip")
        t.site.put("/q.zip", small, "application/zip")
        ids = t.notify(("/p.zip", 0, "k.jpg"), ("/q.zip", 0, "k.jpg"))
        many = {f"{i}.jpg": synthetic_jpeg(i) for i in range(5)}
        t.site.put("/p.zip", _zip({"k.jpg": known_image(0), **many}), "application/zip")
        t.site.put("/q.zip", b"<html>gone</html>", "text/html")
        clock.advance(24 * H)
        report = t.recheck()
        assert (report.errors, report.confirming, report.removals) == (1, 1, [])
        clock.advance(CONFIRM)
        assert t.recheck().removals == [str(ids["q.zipk.jpg"])]
        assert t.location(ids["p.zipk.jpg"]).status.state is LocationState.NOTIFIED
    finally:
        t.services.close()


def test_dns_gone_is_removal_but_a_temporary_failure_is_not():
    gone = FetchError("cannot resolve host 'x.test'")
    assert classify_error(gone).result is CheckResult.GONE
    nxdomain = FetchError("lookup failed")
    nxdomain.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert classify_error(nxdomain).result is CheckResult.GONE
    temporary = FetchError("lookup failed")
    temporary.__cause__ = socket.gaierror(socket.EAI_AGAIN, "Temporary failure")
    assert classify_error(temporary).result is CheckResult.ERROR
    refused = FetchError("fetching failed: connection refused")
    assert classify_error(refused).result is CheckResult.ERROR


def test_a_host_that_no_longer_resolves_is_removed(tracked):
    tracked.site.put("/a.jpg", known_image(0))
    ids = tracked.notify(("/a.jpg", 0, ""))
    tracked.services.tracker.fetcher = _fetcher_without_names(tracked)
    tracked.clock.advance(24 * H)
    assert tracked.recheck().removals == [str(ids["a.jpg"])]


def _fetcher_without_names(tracked):
    settings = tracked.services.settings
    return lambda: Fetcher(settings, resolver=StaticResolver({}), clock=tracked.clock)


def test_rechecks_of_one_host_are_spaced_by_its_politeness(nsettings, clock, sites):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    def polite():
        return InMemoryPoliteness(1, 5.0, clock=clock, sleep=sleep)

    t = Tracked(nsettings, clock, sites[0], politeness=polite)
    try:
        for i in range(3):
            t.site.put(f"/{i}.jpg", known_image(i))
        t.notify(*((f"/{i}.jpg", i, "") for i in range(3)))
        clock.advance(24 * H)
        hits = len(t.site.hits)
        assert t.recheck().checked == 3
        assert len(t.site.hits) == hits + 3
        assert waits == [5.0, 5.0]  # three requests to one host: two gaps
    finally:
        t.services.close()


def test_a_watched_location_back_online_is_a_same_url_reappearance(tracked):
    tracked.site.put("/a.jpg", known_image(0))
    ids = tracked.notify(("/a.jpg", 0, ""))
    tracked.site.answer("/a.jpg", 404)
    tracked.clock.advance(24 * H)
    tracked.recheck()
    tracked.site.put("/a.jpg", known_image(0))
    tracked.clock.advance(7 * 24 * H)  # the first watch check
    report = tracked.recheck()
    (ref,) = report.reappeared
    new = tracked.services.notices.get(ref)
    (loc,) = new.locations
    assert (loc.reappearance_of, loc.reappearance_where, loc.detection) == (
        ids["a.jpg"],
        "same_url",
        "recheck",
    )
    assert new.reappearance
    assert loc.status.state is LocationState.DRAFTED
    assert tracked.location(ids["a.jpg"]).status.next_check_at is None  # the new notice takes over
    assert tracked.recheck().checked == 0  # nothing drafted twice


def test_a_check_another_process_recorded_is_not_recorded_again(tracked):
    tracked.site.put("/a.jpg", known_image(0))
    ids = tracked.notify(("/a.jpg", 0, ""))
    (notice,) = tracked.services.notices.list_notices()
    provider = tracked.services.providers.get("Host")
    policy = tracked.services.service.policy(provider)
    at = T0 + 24 * H
    gone = {ids["a.jpg"]: Check(CheckResult.GONE)}
    first = decide_checks(notice, provider, gone, at, policy)
    assert len(first.events) == 2  # rechecked + removal confirmed
    later = notice.location(ids["a.jpg"])
    status, _ = lc.checked(later.status, at, CheckResult.GONE, policy)
    done = replace(notice, locations=(replace(later, status=status),))
    assert decide_checks(done, provider, gone, at, policy).statuses == {}
