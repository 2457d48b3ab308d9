"""Done means: from a crawl of loopback sites and its notices, the transparency report shows
the right league table and charts, holds no URL or hash of material, and the STIX bundle
validates and carries exactly the wallet addresses planted on the pages with known material.

Two loopback "hosting providers": Hosting A (127.0.0.1, NL) and Hébergeur B (127.0.0.2, FR).
Known material is benign: synthetic pictures whose hashes are in a trusted bank.

======================  ===========================================  =========================
page                    images                                       planted indicators
======================  ===========================================  =========================
A /shop.html            k0, k1 (known)                               BTC 1BvB.., ETH 0x5aAe..,
                                                                     paypal.me link
A /plain.html           a benign picture                             BTC 3J98.. (P2SH)
B /gallery.html         k2 (known)                                   XMR 44AF.., BTC bc1qw5..,
                                                                     BTC 1BvB.. again
B /about.html           a benign picture                             ETH 0xfB69..
======================  ===========================================  =========================

Crawl at -2 h; notices at 0 h (A: L1 k0, L2 k1; B: L3 k2); k0 gone at 24 h, k2 at 48 h,
k1 at 72 h. Hand-computed, for the period 2026-03-02..2026-03-04 (ends at +64 h):
A removed [24] (L2 still present at the end), B removed [48]; league A (24 h), B (48 h);
within 24 h: A 1/2, B 0/1; within 7 days: A 1/2, B 1/1; detection to notice 2 h.
For March 2026: A [24, 72] -> median 48, p90 72; B [48] -> median 48, p90 48: B ranks first.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from stix2validator import ValidationOptions, validate_string

from keepdown.app import open_crawl_services, open_notice_services
from keepdown.app.accountability import open_accountability
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import FrozenClock
from keepdown.crawl.transport import StaticResolver
from keepdown.finance.alerts import Subscription
from keepdown.notices.providers import Provider
from keepdown.reports import FORMATS, REGULATOR_FORMATS, render, render_regulator
from keepdown.storage.tables_crawl import sightings
from keepdown.testing import synthetic_jpeg
from tests.finance.vectors import BASE58_VALID, EIP55_VALID, MONERO_VALID
from tests.notices.conftest import (  # noqa: F401  (fixtures)
    T0,
    known_image,
    nsettings,
    receiver,
    seed_bank,
    sites,
    smtp,
)

H = timedelta(hours=1)
HOST_A, HOST_B = "www.hosting-a.test", "cdn.heberg-b.test"
RESOLVER = StaticResolver({HOST_A: ["127.0.0.1"], HOST_B: ["127.0.0.2"]})
BTC_1, BTC_P2SH = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
BTC_BECH = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
ETH_CONFIRMED, ETH_PLAIN = EIP55_VALID[0], EIP55_VALID[1]
PAYPAL = "https://paypal.me/standin01"
assert BTC_1 in BASE58_VALID


def _page(images: list[str], text: str) -> bytes:
    body = "".join(f'<img src="{src}">' for src in images)
    return f"<!doctype html><html><body>{body}<p>{text}</p></body></html>".encode()


@pytest.fixture
def world(nsettings, sites, smtp, receiver):  # noqa: F811
    clock = FrozenClock(T0 - 2 * H)
    seed_bank(nsettings, clock)
    a, b = sites
    k = [known_image(i) for i in range(3)]
    a.put("/index.html", b'<a href="/shop.html">s</a><a href="/plain.html">p</a>', "text/html")
    a.put(
        "/shop.html",
        _page(["/img/k0.jpg", "/img/k1.jpg"], f"Pay {BTC_1} or {ETH_CONFIRMED} or {PAYPAL}"),
        "text/html",
    )
    a.put("/plain.html", _page(["/img/b.jpg"], f"tips: {BTC_P2SH}"), "text/html")
    a.put("/img/k0.jpg", k[0])
    a.put("/img/k1.jpg", k[1])
    a.put("/img/b.jpg", synthetic_jpeg(555))
    b.put("/index.html", b'<a href="/gallery.html">g</a><a href="/about.html">a</a>', "text/html")
    b.put(
        "/gallery.html",
        _page(["/m/k2.jpg"], f"XMR {MONERO_VALID} BTC {BTC_BECH} or {BTC_1}"),
        "text/html",
    )
    b.put("/about.html", _page(["/m/b.jpg"], f"ETH {ETH_PLAIN}"), "text/html")
    b.put("/m/k2.jpg", k[2])
    b.put("/m/b.jpg", synthetic_jpeg(556))
    notices = open_notice_services(nsettings, clock=clock, resolver=RESOLVER)
    for name, ip, country in (("Hosting A", "127.0.0.1", "NL"), ("Hébergeur B", "127.0.0.2", "FR")):
        notices.providers.add(
            Provider(
                name=name,
                ip_ranges=(f"{ip}/32",),
                abuse_contacts=(f"abuse@{name[-1].lower()}.test",),
                country=country,
            ),
            clock.now(),
        )
    yield nsettings, clock, a, b, notices, smtp, receiver
    notices.close()


def crawl(settings, clock, *seeds):
    services = open_crawl_services(settings, clock=clock, resolver=RESOLVER)
    try:
        for seed in seeds:
            services.crawls.create([seed], now=clock.now())
        assert run_worker(services, once=True, out=io.StringIO()) == len(seeds)
        with services.storage.engine.connect() as conn:
            rows = conn.execute(select(sightings.c.sha256, sightings.c.state)).all()
        return rows
    finally:
        services.close()


def tick(notices, clock, hour):
    clock.set(T0 + hour * H)
    asyncio.run(notices.tracker.recheck_due())
    asyncio.run(notices.service.send_due())


def test_crawl_notices_report_and_bundle(world):
    settings, clock, a, b, notices, mailbox, hook = world
    seen = crawl(
        settings,
        clock,
        f"http://{HOST_A}:{a.port}/index.html",
        f"http://{HOST_B}:{b.port}/index.html",
    )
    assert sorted(state for _, state in seen).count("confirmed") == 3
    tick(notices, clock, 0)
    a.answer("/img/k0.jpg", 404)
    tick(notices, clock, 24)
    b.answer("/m/k2.jpg", 404)
    tick(notices, clock, 48)
    a.answer("/img/k1.jpg", 404)
    tick(notices, clock, 72)
    clock.set(T0 + 80 * H)

    acc = open_accountability(settings, clock=clock, resolver=RESOLVER)
    try:
        _check_report(acc, seen, a, b)
        _check_bundle(acc)
        _check_alerts(acc, mailbox, hook, a, b)
    finally:
        acc.close()


def _check_report(acc, seen, a, b):
    report = acc.transparency("2026-03-02..2026-03-04")
    league = [(f.name, f.locations, f.removed, f.median_hours) for f in report.league_table]
    assert league == [("Hosting A", 2, 1, 24.0), ("Hébergeur B", 1, 1, 48.0)]
    fa, fb = report.league_table
    assert (fa.still_present, fb.still_present) == (1, 0)  # k1 went at +72 h, after the end
    assert (fa.share_within["24h"], fb.share_within["24h"]) == (0.5, 0.0)
    assert (fa.share_within["7d"], fb.share_within["7d"]) == (0.5, 1.0)
    assert (fa.country, fb.country) == ("NL", "FR")
    assert report.totals.median_detection_hours == 2.0
    assert dict(report.distribution)["1-24 h"] == 1
    assert dict(report.distribution)["1-2 days"] == 1
    html = render(report, "html")
    league_svg = re.findall(r"<svg.*?</svg>", html, re.S)[0]
    assert "Hosting A: 24.0 h" in league_svg
    assert "Hébergeur B: 48.0 h" in league_svg
    march = acc.transparency("2026-03")
    assert [(f.name, f.median_hours, f.p90_hours) for f in march.league_table] == [
        ("Hébergeur B", 48.0, 48.0),
        ("Hosting A", 48.0, 72.0),
    ]
    assert march.totals.still_present == 0
    # aggregates only: no URL, host or hash of material in any output, embedded data too
    outputs = [render(report, f) for f in FORMATS] + [render(march, f) for f in FORMATS]
    outputs += [render_regulator(report, f) for f in REGULATOR_FORMATS]
    for blob in re.findall(r"base64,([A-Za-z0-9+/=]+)", html):
        outputs.append(base64.b64decode(blob).decode())
    forbidden = [HOST_A, HOST_B, "/img/k0.jpg", "/m/k2.jpg", "shop.html", "gallery.html"]
    forbidden += [sha for sha, _ in seen] + [str(a.port), str(b.port)]
    for text in outputs:
        for value in forbidden:
            assert value not in text, value
        assert not re.search(r"[0-9a-f]{32,}", text)


def _check_bundle(acc):
    text = acc.export("stix", tlp="amber")
    result = validate_string(text, ValidationOptions(version="2.1", strict=True))
    assert result.is_valid, [str(e) for e in result.errors]
    doc = json.loads(text)
    wallets = {o["address"] for o in doc["objects"] if o["type"] == "cryptocurrency-wallet"}
    assert wallets == {BTC_1, ETH_CONFIRMED, MONERO_VALID, BTC_BECH.lower()}
    urls = {o["value"] for o in doc["objects"] if o["type"] == "url"}
    assert urls == {PAYPAL}
    assert BTC_P2SH not in text
    assert ETH_PLAIN not in text
    assert "shop.html" not in text
    assert "gallery.html" not in text
    indicators = {i.value: i for i in acc.confirmed_indicators()}
    btc = indicators[BTC_1]
    assert btc.providers == ("Hosting A", "Hébergeur B")
    assert (btc.confirmed_sightings, btc.confirmed_pages, len(btc.pages)) == (3, 2, 2)
    assert indicators[ETH_CONFIRMED].confirmed_sightings == 2
    every = {i.value for i in acc.confirmed_indicators(include_unconfirmed=True)}
    assert {BTC_P2SH, ETH_PLAIN} <= every


def _check_alerts(acc, mailbox, hook, a, b):
    acc.subscribe(
        Subscription(
            name="Bank W",
            channel="webhook",
            target=hook.url,
            secret=hook.secret,
            threshold=2,
        )
    )
    acc.subscribe(Subscription(name="Bank M", channel="email", target="fiu@bank-m.test"))
    before = len(mailbox.messages)
    first = asyncio.run(acc.alerter.send_due())
    second = asyncio.run(acc.alerter.send_due())
    assert (len(first.sent), first.failed) == (3 + 5, [])
    assert (second.planned, second.sent) == ([], [])
    assert len(hook.effects) == 3
    assert all(c.signature_ok for c in hook.calls)
    alerted = {c.document["indicator"]["value"] for c in hook.calls}
    assert alerted == {BTC_1, ETH_CONFIRMED, PAYPAL}  # 2 or more confirmed sightings
    mails = mailbox.messages[before:]
    assert len(mails) == 5
    assert all(str(m["Subject"]).strip().startswith("[TLP:AMBER]") for m in mails), [
        str(m["Subject"]) for m in mails
    ]
    sent = b"".join(m.as_bytes() for m in mails) + b"".join(c.body for c in hook.calls)
    assert b"shop.html" not in sent
    assert b"gallery.html" not in sent
    assert str(a.port).encode() not in sent or str(b.port).encode() not in sent
    states = {al.state for al in acc.alerts.alerts()}
    assert states == {"sent"}
