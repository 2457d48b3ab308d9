"""The event fields that make report figures exact: each location's own detection time and
material in a multi-location notice, the bank's source on auto-confirmed matches, a reported
URL chained to its notice, recidivism from ``repeat_at_provider`` (not ``reappearance``), and
failed deliveries counted only when given up. Hand-made events, hand-computed figures; then
the same chain end to end from a URL report through a crawl of a loopback site to its notice.
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from keepdown.app import open_crawl_services, open_notice_services
from keepdown.app.accountability import open_accountability
from keepdown.banks.records import EntryRecord
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import FrozenClock, utc
from keepdown.crawl.transport import StaticResolver
from keepdown.events import (
    DeliveryFailed,
    NoticeSent,
    SightingRecorded,
    UrlReported,
    event_types,
)
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.notices.providers import Provider
from keepdown.reports import build_report
from keepdown.reports.ledger import _Builder
from keepdown.reports.period import parse_period
from keepdown.storage.figures_store import REPORT_KINDS
from tests.notices.conftest import T0, known_image, nsettings, sites, smtp  # noqa: F401

H = timedelta(hours=1)
T = utc(2026, 8, 1)
Q3 = parse_period("2026-Q3")


def seen(sid: str, at, entry: int, **kw) -> SightingRecorded:
    return SightingRecorded(
        at=at,
        sighting_id=sid,
        media_url=f"http://x.test/{sid}.jpg",
        page_url="http://x.test/",
        bank="hotline-list",
        entry_id=entry,
        match_type="exact",
        state="confirmed",
        **kw,
    )


def sent(ref, at, pid, locs, *, detected=(), entries=(), sightings=(), **kw) -> NoticeSent:
    return NoticeSent(
        at=at,
        notice_ref=ref,
        provider=f"P{pid}",
        provider_id=pid,
        locations=tuple(locs),
        sighting_ids=tuple(sightings),
        location_sightings=tuple(sightings) or ("",) * len(locs),
        location_detected_at=tuple(d.isoformat() for d in detected) or ("",) * len(locs),
        location_entries=tuple(entries) or ("",) * len(locs),
        location_reappearances=tuple(kw.pop("where", ("",) * len(locs))),
        **kw,
    )


def test_every_kind_the_ledger_reads_is_read_from_the_database():
    handled = {name[3:] for name in dir(_Builder) if name.startswith("on_")}
    assert handled <= set(REPORT_KINDS)
    assert set(REPORT_KINDS) <= set(event_types())  # no kind the store could not rebuild


def test_multi_location_detection_bank_source_report_chain_and_recidivism():
    events = [
        UrlReported(at=T - 10 * H, url="http://x.test/", reporter="public", crawl_id="7"),
        UrlReported(at=T - 8 * H, url="http://x.test/", reporter="public", crawl_id="7"),
        UrlReported(at=T - 9 * H, url="http://y.test/", reporter="own_initiative", crawl_id="8"),
        seen("s1", T - 6 * H, 11, bank_source="Hotline A", crawl_id="7"),
        seen("s2", T - 2 * H, 12, bank_source="Hotline A", crawl_id="7"),
        seen("s3", T - 1 * H, 13, crawl_id="8"),
        # One notice of two locations detected 6 h and 2 h before it.
        sent("N1", T, "1", ["L1", "L2"], detected=(T - 6 * H, T - 2 * H), entries=("11", "12"),
             sightings=("s1", "s2"), repeat_at_provider=False),
        # Material back after a removal at *another* provider: a reappearance, not a repeat.
        sent("N2", T + H, "2", ["L3"], detected=(T,), entries=("11",), sightings=("s3",),
             reappearance=True, repeat_at_provider=False, where=("other",)),
        # Named to provider 1 before (entry 12), never removed: a repeat, no reappearance.
        sent("N3", T + 2 * H, "1", ["L4"], detected=(T + H,), entries=("12",),
             repeat_at_provider=True),
        DeliveryFailed(at=T + H, notice_ref="N3", provider="P1", provider_id="1",
                       delivery_id="5", delivery_kind="renotice", channel="email", attempts=1,
                       outcome="retrying"),
        DeliveryFailed(at=T + 2 * H, notice_ref="N3", provider="P1", provider_id="1",
                       delivery_id="5", delivery_kind="renotice", channel="email", attempts=2,
                       outcome="failed"),
    ]  # fmt: skip
    report = build_report(events, Q3, generated_at=T + 24 * H)

    rows = {(r["provider"], r["hours_detection_to_notice"]) for r in report.locations}
    assert rows == {("P1", 6.0), ("P1", 2.0), ("P2", 1.0), ("P1", 1.0)}
    assert report.totals.median_detection_hours == 1.5  # 6, 2, 1, 1
    by_provider = {f.key: f for f in report.league_table}
    p1, p2 = by_provider["1"], by_provider["2"]
    assert (p1.notices, p1.repeat_notices, p1.repeat_share) == (2, 1, 0.5)
    assert (p2.notices, p2.repeat_notices) == (1, 0)
    assert [r["reappearance"] for r in report.locations if r["provider"] == "P2"] == [True]
    assert not any(r["reappearance"] for r in report.locations if r["provider"] == "P1")
    assert (p1.delivery_failures, report.totals.delivery_failures) == (1, 1)
    # The public report of crawl 7 (first at -10 h) reached its notice at 0 h; crawl 8 was
    # the operator's own.
    assert (report.totals.reports_noticed, report.totals.median_report_hours) == (1, 10.0)
    (bank,) = report.banks
    assert (bank.bank, bank.bank_source, bank.auto_confirmed) == ("hotline-list", "Hotline A", 3)


def test_legacy_events_without_the_new_fields_keep_their_inferred_figures():
    """Events recorded before the per-location fields: repeats are inferred from the bank
    entries of the sightings, detection from the sightings."""
    events = [
        seen("s1", T - 3 * H, 11),
        NoticeSent(at=T, notice_ref="N1", provider="P", provider_id="1", locations=("L1",),
                   sighting_ids=("s1",)),
        seen("s2", T + H, 11),
        NoticeSent(at=T + 4 * H, notice_ref="N2", provider="P", provider_id="1",
                   locations=("L2",), sighting_ids=("s2",)),
    ]  # fmt: skip
    (p,) = build_report(events, Q3, generated_at=T + 24 * H).league_table
    assert (p.notices, p.repeat_notices, p.median_detection_hours) == (2, 1, 3.0)


def test_a_reported_url_is_chained_through_its_crawl_to_its_notice(nsettings, sites, smtp):  # noqa: F811
    """End to end: a public report at -3 h starts a crawl that finds two known stand-ins on a
    loopback host; one notice names both at 0 h. The report figures chain the report to the
    notice (3 h) and name the bank's source for these auto-confirmed matches."""
    site, _ = sites
    host = "www.hosting-a.test"
    resolver = StaticResolver({host: ["127.0.0.1"]})
    clock = FrozenClock(T0 - 3 * H)
    crawling = open_crawl_services(nsettings, clock=clock, resolver=resolver)
    notices = open_notice_services(nsettings, clock=clock, resolver=resolver)
    try:
        _bank_with_source(crawling, clock)
        notices.providers.add(
            Provider(name="Hosting A", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@a.test",)),
            clock.now(),
        )
        site.put("/g.html", b'<img src="/k0.jpg"><img src="/k1.jpg">', "text/html")
        site.put("/k0.jpg", known_image(0))
        site.put("/k1.jpg", known_image(1))
        url = f"http://{host}:{site.port}/g.html"
        done = crawling.reports.intake(url, reporter_type="public", now=clock.now())
        crawling.storage.events.emit(
            UrlReported(
                at=clock.now(),
                url=done.record.url,
                reporter="public",
                crawl_id=str(done.record.crawl_id),
            )
        )
        crawling.matcher.refresh()
        assert run_worker(crawling, once=True, out=io.StringIO()) == 1
        recorded = [e for e in crawling.storage.events.read() if isinstance(e, SightingRecorded)]
        assert len(recorded) == 2
        assert {(e.crawl_id, e.report_ref, e.bank_source) for e in recorded} == {
            (str(done.record.crawl_id), done.record.reference, "Test hotline (stand-ins)")
        }
        clock.set(T0)
        assert len(asyncio.run(notices.service.send_due()).sent) == 1
        (notice_sent,) = [e for e in notices.storage.events.read() if isinstance(e, NoticeSent)]
        assert len(notice_sent.locations) == 2
        assert notice_sent.repeat_at_provider is False
        clock.set(T0 + H)
        acc = open_accountability(nsettings, clock=clock, resolver=resolver)
        try:
            report = acc.transparency("2026-03")
        finally:
            acc.close()
    finally:
        notices.close()
        crawling.close()
    assert (report.totals.reports_noticed, report.totals.median_report_hours) == (1, 3.0)
    assert [r["hours_detection_to_notice"] for r in report.locations] == [3.0, 3.0]
    (bank,) = report.banks
    assert (bank.bank_source, bank.auto_confirmed) == ("Test hotline (stand-ins)", 2)


def _bank_with_source(crawling, clock) -> None:
    from keepdown.app import open_services

    services = open_services(crawling.settings, clock)
    try:
        services.auth.ensure_organisation(services.settings.operator_organisation)
        services.banks.create_bank(
            "stand-ins",
            owner=services.settings.operator_organisation,
            trust="auto",
            label="csam",
            source="Test hotline (stand-ins)",
        )
        for i in range(2):
            sha = hash_bytes(known_image(i), mode="exact").sha256.hex
            services.banks.add_entry("stand-ins", EntryRecord(SignalType.SHA256, sha))
    finally:
        services.storage.close()
