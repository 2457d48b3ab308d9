"""From a crawl of loopback sites to confirmed removal, over nine days of a frozen clock.

Two "hosting providers" are loopback sites at 127.0.0.1 (Hosting A: e-mail, English, escalates
to its upstream) and 127.0.0.2 (Hébergeur B: signed webhook, French). The real crawler crawls
them with the provider registry's attribution; notices go to the real SMTP server and the
HMAC-checking webhook receiver; B answers through the signed link's HTML forms; the tracker
re-checks through the real fetcher. Every tick runs the tracker twice and two notice services
at once, so nothing may be sent or recorded twice.

The timeline (hours after T0; the crawl is at -2 h), and what it must produce:

=====  =======================================================================================
 h     what happens
=====  =======================================================================================
 0     notices: A (L1 k0, L2 k1, L3 = k3 inside pack.zip), B (L4 k2, L5 k1)
 5/6   B acknowledges; B disputes L5
 24    L1 404 -> removed (24 h). L2, L3 present (the ZIP still holds k3): reminder to A for
       L2+L3; L4 present: reminder to B for L4
 30    B reports L4 removed; the check at once finds it 404 -> removed (30 h)
 48    pack.zip no longer holds k3 -> L3 removed (48 h). Reminder to A for L2
 50    analyst upholds the dispute: L5 withdrawn (not counted in the figures)
 72    L2 still there: reminder + escalation to A's upstream
 96    L2 404 -> removed (96 h)
 100   k0 found again: at A on another page (same provider) and at B (another provider):
       two reappearance notices linked to L1
 124   A's copy 404 -> removed (24 h); B's copy present: reminder to B
 148   B's copy 404 -> removed (48 h)
 192   L1's URL serves k0 again (watch check): reappearance at the same URL, notice to A
 216   that copy 404 -> removed (24 h); watches of L3 and L4 find them still gone
=====  =======================================================================================

Hand-computed figures: A removal hours [24, 24, 24, 48, 96] -> median 24, p90 96, within
24 h 3/5, 7 d and 42 d 5/5; B [30, 48] (L5 withdrawn) -> median 39, p90 48, within 24 h 0/2,
7 d 2/2. Detection to notice: 2 h for the first crawl, 0 h for the reappearances (median 2 at
both); notice to acknowledgement: B 5 h.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from keepdown.app import open_crawl_services, open_notice_services
from keepdown.app.server import build_app
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import FrozenClock
from keepdown.crawl.transport import StaticResolver
from keepdown.events import (
    DeliveryFailed,
    DisputeReviewed,
    NoticeAcknowledged,
    NoticeDisputed,
    NoticeDrafted,
    NoticeEscalated,
    NoticeSent,
    ReappearanceDetected,
    RemovalConfirmed,
    RemovalReported,
)
from keepdown.notices.lifecycle import LocationState, NoticeState
from keepdown.notices.providers import Provider
from keepdown.reports import running_figures, to_date
from keepdown.testing import synthetic_jpeg

from .conftest import T0, known_image, seed_bank

H = timedelta(hours=1)
HOST_A, HOST_B = "img.hosting-a.test", "cdn.heberg-b.test"
RESOLVER = StaticResolver({HOST_A: ["127.0.0.1"], HOST_B: ["127.0.0.2"]})


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _page(*images: str, links: tuple[str, ...] = ()) -> bytes:
    body = "".join(f'<img src="{src}">' for src in images)
    body += "".join(f'<a href="{href}">file</a>' for href in links)
    return f"<!doctype html><html><body>{body}</body></html>".encode()


class World:
    """The sites, the services (two notice services: two "processes"), the clock."""

    def __init__(self, settings, clock, sites, smtp, receiver) -> None:
        self.settings, self.clock, self.smtp, self.receiver = settings, clock, smtp, receiver
        self.a, self.b = sites
        self.entries = seed_bank(settings, clock)
        self.one = open_notice_services(settings, clock=clock, resolver=RESOLVER)
        self.two = open_notice_services(settings, clock=clock, resolver=RESOLVER)
        now = clock.now()
        self.pa = self.one.providers.add(
            Provider(
                name="Hosting A",
                ip_ranges=("127.0.0.1/32",),
                abuse_contacts=("abuse@hosting-a.test",),
                country="NL",
                escalation_target="upstream",
                escalation_contact="noc@upstream.test",
            ),
            now,
        )
        self.pb = self.one.providers.add(
            Provider(
                name="Hébergeur B",
                ip_ranges=("127.0.0.2/32",),
                channel="webhook",
                webhook_url=receiver.url,
                webhook_secret=receiver.secret,
                language="fr",
                country="FR",
            ),
            now,
        )
        self.app, self.app_services = build_app(
            settings, clock=clock, resolver=RESOLVER, refresh_in_background=False
        )
        self.client = TestClient(self.app)

    def url_a(self, path: str) -> str:
        return f"http://{HOST_A}:{self.a.port}{path}"

    def url_b(self, path: str) -> str:
        return f"http://{HOST_B}:{self.b.port}{path}"

    def crawl(self, *seeds: str) -> None:
        crawl = open_crawl_services(self.settings, clock=self.clock, resolver=RESOLVER)
        try:
            for seed in seeds:
                crawl.crawls.create([seed], now=self.clock.now())
            assert run_worker(crawl, once=True, out=io.StringIO()) == len(seeds)
        finally:
            crawl.close()

    def tick(self, hour: float) -> None:
        """At T0 + hour: re-check what is due (twice: the second finds nothing), then two
        notice services send what is due at the same time."""
        self.clock.set(T0 + hour * H)
        asyncio.run(self.one.tracker.recheck_due())
        again = asyncio.run(self.two.tracker.recheck_due())
        assert again.checked == 0, hour

        async def both():
            return await asyncio.gather(self.one.service.send_due(), self.two.service.send_due())

        asyncio.run(both())

    def events(self, kind):
        return [e for e in self.one.storage.events.read() if isinstance(e, kind)]

    def close(self) -> None:
        self.client.close()
        self.app_services.storage.close()
        self.one.close()
        self.two.close()


@pytest.fixture
def world(nsettings, sites, smtp, receiver):
    settings = nsettings.replace(notice_delivery_lease_seconds=600)
    w = World(settings, FrozenClock(T0 - 2 * H), sites, smtp, receiver)
    yield w
    w.close()


def _answer_by_form(w: World, token_url: str, action: str, **fields) -> None:
    """What a provider's browser does: open the page, post one of its forms."""
    parts = urlsplit(token_url)
    page = w.client.get(f"{parts.path}?{parts.query}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    action_url = f"{parts.path}/{action}?{parts.query}"
    assert action_url.replace("&", "&amp;") in page.text or action_url in page.text
    done = w.client.post(
        action_url,
        content=urlencode(fields),  # as a browser posts a form, even one with no field
        headers={
            "Origin": "https://keepdown.hotline.test",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert f"done={action}" in done.headers["location"]


def _emails(w: World) -> list[tuple[str, str, list[str]]]:
    pairs = zip(w.smtp.messages, w.smtp.recipients, strict=True)
    return [(str(m["Subject"]), m.get_content(), list(rcpt)) for m, rcpt in pairs]


def test_crawl_to_removal_with_every_step(world):
    w = world
    k = [known_image(i) for i in range(4)]
    benign = synthetic_jpeg(555)
    a, b = w.a, w.b
    a.put(
        "/index.html", _page("/img/k0.jpg", "/img/k1.jpg", links=("/files/pack.zip",)), "text/html"
    )
    a.put("/img/k0.jpg", k[0])
    a.put("/img/k1.jpg", k[1])
    a.put(
        "/files/pack.zip", _zip({"pics/k3.jpg": k[3], "pics/benign.jpg": benign}), "application/zip"
    )
    b.put("/gallery.html", _page("/m/x.jpg", "/m/y.jpg"), "text/html")
    b.put("/m/x.jpg", k[2])
    b.put("/m/y.jpg", k[1])
    w.crawl(w.url_a("/index.html"), w.url_b("/gallery.html"))

    # --- h 0: first notices --------------------------------------------------------------
    w.tick(0)
    notices = {n.provider: n for n in w.one.notices.list_notices()}
    na, nb = notices["Hosting A"], notices["Hébergeur B"]
    assert na.state is NoticeState.SENT
    assert nb.state is NoticeState.SENT
    by_url = {(loc.media_url, loc.archive_member): loc for loc in na.locations}
    l1 = by_url[(w.url_a("/img/k0.jpg"), "")]
    l2 = by_url[(w.url_a("/img/k1.jpg"), "")]
    l3 = by_url[(w.url_a("/files/pack.zip"), "pics/k3.jpg")]
    assert len(na.locations) == 3
    l4, l5 = sorted(nb.locations, key=lambda loc: loc.media_url)
    assert (l4.media_url, l5.media_url) == (w.url_b("/m/x.jpg"), w.url_b("/m/y.jpg"))
    (subject, text, rcpt) = _emails(w)[0]
    assert subject == (
        f"[{na.reference}] Removal request: known child sexual abuse material on your service "
        "(3 locations)"
    )
    assert rcpt == ["abuse@hosting-a.test"]
    for loc in (l1, l2, l3):
        assert loc.media_url in text
        assert loc.page_url in text
        assert loc.sha256 in text
    assert "Archive entry:  pics/k3.jpg" in text
    (call,) = w.receiver.calls
    doc = call.document
    assert call.signature_ok
    assert (doc["type"], doc["language"], doc["reference"]) == (
        "keepdown.notice",
        "fr",
        nb.reference,
    )
    assert sorted(loc["media_url"] for loc in doc["locations"]) == [l4.media_url, l5.media_url]
    link_b = doc["respond"]["url"]

    # --- h 5, 6: B acknowledges and disputes through the signed link's forms ---------------
    w.clock.set(T0 + 5 * H)
    _answer_by_form(w, link_b, "acknowledge")
    w.clock.set(T0 + 6 * H)
    _answer_by_form(w, link_b, "dispute", location_id=str(l5.id), reason="a logo, not this")

    # --- h 24 .. 96 ----------------------------------------------------------------------
    a.answer("/img/k0.jpg", 404)
    w.tick(24)
    w.clock.set(T0 + 30 * H)
    _answer_by_form(w, link_b, "removed", location_id=str(l4.id))
    b.answer("/m/x.jpg", 404)
    w.tick(30)
    a.put("/files/pack.zip", _zip({"pics/benign.jpg": benign}), "application/zip")
    w.tick(48)
    w.clock.set(T0 + 50 * H)
    w.one.service.review(nb.reference, l5.id, "upheld")
    w.tick(72)
    a.answer("/img/k1.jpg", 404)
    w.tick(96)
    na, nb = w.one.notices.get(na.reference), w.one.notices.get(nb.reference)
    assert na.state is NoticeState.REMOVED
    assert nb.state is NoticeState.REMOVED
    removed_at = {loc.id: loc.status.removed_at for loc in (*na.locations, *nb.locations)}
    assert removed_at == {
        l1.id: T0 + 24 * H,
        l2.id: T0 + 96 * H,
        l3.id: T0 + 48 * H,
        l4.id: T0 + 30 * H,
        l5.id: None,
    }
    assert nb.location(l5.id).status.state is LocationState.WITHDRAWN
    assert nb.acknowledged_at == T0 + 5 * H
    assert na.escalated_at == T0 + 72 * H

    # --- h 100: the same material elsewhere at A, and at B --------------------------------
    a.put("/moved.html", _page("/moved/k0.jpg"), "text/html")
    a.put("/moved/k0.jpg", k[0])
    b.put("/new.html", _page("/new/k0.jpg"), "text/html")
    b.put("/new/k0.jpg", k[0])
    w.clock.set(T0 + 100 * H)
    w.crawl(w.url_a("/moved.html"), w.url_b("/new.html"))
    w.tick(100)
    again = [n for n in w.one.notices.list_notices() if n.reappearance]
    assert len(again) == 2
    where = {n.provider: n.locations[0] for n in again}
    assert where["Hosting A"].reappearance_where == "same_provider"
    assert where["Hébergeur B"].reappearance_where == "other"
    assert {loc.reappearance_of for loc in where.values()} == {l1.id}
    # Both are reappearances; only A had this material notified before (C3P's recidivism).
    flags = {
        e.provider: (e.reappearance, e.repeat_at_provider)
        for e in w.one.storage.events.read()
        if isinstance(e, NoticeSent) and e.notice_ref in {n.reference for n in again}
    }
    assert flags == {"Hosting A": (True, True), "Hébergeur B": (True, False)}
    a.answer("/moved/k0.jpg", 404)
    w.tick(124)
    b.answer("/new/k0.jpg", 404)
    w.tick(148)

    # --- h 192: L1's URL serves k0 again; h 216: gone again --------------------------------
    a.put("/img/k0.jpg", k[0])
    w.tick(192)
    same_url = [
        n
        for n in w.one.notices.list_notices()
        if n.reappearance and n.locations[0].detection == "recheck"
    ]
    (nsu,) = same_url
    assert (nsu.locations[0].reappearance_where, nsu.locations[0].reappearance_of) == (
        "same_url",
        l1.id,
    )
    assert nsu.state is NoticeState.SENT
    a.answer("/img/k0.jpg", 404)
    w.tick(216)

    _check_emails(w, na, nsu, where["Hosting A"], (l1, l2, l3))
    _check_webhooks(w, nb, where["Hébergeur B"])
    _check_events(w, l1)
    _check_figures(w)
    _check_linked_evidence(w, link_b, nb, (l4, l5))


def _check_linked_evidence(w, link, notice, locations) -> None:
    """B's signed link also downloads the evidence behind that notice (issue 23): its
    locations, each event with its place in the chain, signed by the operator's key."""
    from keepdown.reports.provider_evidence import check_evidence

    parts = urlsplit(link)
    got = w.client.get(f"{parts.path}/evidence?{parts.query}")
    assert got.status_code == 200, got.text
    doc = got.json()
    assert doc["scope"]["notice"] == notice.reference
    assert {loc["location_id"] for loc in doc["locations"]} == {str(x.id) for x in locations}
    assert all(
        e["kind"] != "notice_sent" or notice.reference in e["payload"] for e in doc["events"]
    )
    assert check_evidence(doc) == []
    assert w.client.get(f"{parts.path}/evidence?token=forged").status_code == 401


def _check_emails(w, na, nsu, moved, first) -> None:
    mails = _emails(w)
    subjects = [s for s, _, _ in mails]
    ref = na.reference
    assert subjects == [
        f"[{ref}] Removal request: known child sexual abuse material on your service (3 locations)",
        f"[{ref}] Reminder: Removal request: known child sexual abuse material on your service "
        "(2 locations)",
        f"[{ref}] Reminder: Removal request: known child sexual abuse material on your service "
        "(1 location)",
        f"[{ref}] Reminder: Removal request: known child sexual abuse material on your service "
        "(1 location)",
        f"[{ref}] Escalation: known child sexual abuse material left online by Hosting A "
        "(1 location)",
        f"[{moved.notice_id and w.one.notices.get_by_id(moved.notice_id).reference}] "
        "Reappearance of known child sexual abuse material on your service (1 location)",
        f"[{nsu.reference}] Reappearance of known child sexual abuse material on your service "
        "(1 location)",
    ]
    l1, l2, _ = first
    assert mails[1][1].count("Location ") == 2
    assert l2.media_url in mails[1][1]
    assert "pics/k3.jpg" in mails[1][1]
    assert l2.media_url in mails[2][1]
    assert l2.media_url in mails[3][1]
    assert mails[4][2] == ["noc@upstream.test"]
    assert "To the upstream for Hosting A" in mails[4][1]
    assert moved.media_url in mails[5][1]
    assert "elsewhere on your service" in mails[5][1]
    assert l1.media_url in mails[6][1]
    assert "at the same URL" in mails[6][1]
    assert len({m["Message-ID"] for m in w.smtp.messages}) == len(w.smtp.messages)
    raw = b"".join(m.as_bytes() for m in w.smtp.messages)
    assert b"image/" not in raw
    assert b"<img" not in raw
    for i in range(4):
        assert known_image(i)[:64] not in raw
    for _, text, _ in mails:
        assert "Legal and policy basis" in text
        assert "https://keepdown.hotline.test/api/v1/notice-response?token=" in text


def _check_webhooks(w, nb, other) -> None:
    docs = [c.document for c in w.receiver.calls]
    assert all(c.signature_ok for c in w.receiver.calls)
    assert len(w.receiver.effects) == len(w.receiver.calls) == 4
    other_ref = w.one.notices.get_by_id(other.notice_id).reference
    assert [(d["type"], d["reference"], len(d["locations"])) for d in docs] == [
        ("keepdown.notice", nb.reference, 2),
        ("keepdown.renotice", nb.reference, 1),
        ("keepdown.notice", other_ref, 1),
        ("keepdown.renotice", other_ref, 1),
    ]
    assert all(d["language"] == "fr" for d in docs)
    assert docs[2]["reappearance"] is True
    assert docs[2]["locations"][0]["reappearance_where"] == "other"


def _check_events(w, l1) -> None:
    assert len(w.events(NoticeDrafted)) == 5
    sent = w.events(NoticeSent)
    assert len(sent) == 10
    assert {e.provider_id for e in sent} == {str(w.pa.id), str(w.pb.id)}
    assert len(w.events(NoticeEscalated)) == 1
    (esc,) = w.events(NoticeEscalated)
    assert (esc.target, esc.provider_id, esc.country) == ("upstream", str(w.pa.id), "NL")
    assert len(w.events(RemovalConfirmed)) == 7
    assert len(w.events(RemovalReported)) == 1
    assert len(w.events(NoticeAcknowledged)) == 1
    assert len(w.events(NoticeDisputed)) == 1
    (review,) = w.events(DisputeReviewed)
    assert (review.outcome, review.provider_id, review.country) == ("upheld", str(w.pb.id), "FR")
    back = w.events(ReappearanceDetected)
    assert sorted(e.where for e in back) == ["other", "same_provider", "same_url"]
    assert {e.previous_location_id for e in back} == {str(l1.id)}
    assert {e.previous_provider_id for e in back} == {str(w.pa.id)}
    assert {e.previous_removed_at for e in back} == {T0 + 24 * H}
    assert {(e.where, e.provider_id, e.country) for e in back} >= {("other", str(w.pb.id), "FR")}
    assert not w.events(DeliveryFailed)


def _check_figures(w) -> None:
    now = to_date(w.clock.now())
    figures = running_figures(w.one.storage.events.read(), now).by_key()
    fa, fb = figures[str(w.pa.id)], figures[str(w.pb.id)]
    assert (fa.name, fa.country, fa.locations, fa.removed) == ("Hosting A", "NL", 5, 5)
    assert fa.removal_hours == (24.0, 24.0, 24.0, 48.0, 96.0)
    assert (fa.median_hours, fa.p90_hours) == (24.0, 96.0)
    assert fa.share_within == {"24h": 0.6, "7d": 1.0, "42d": 1.0}
    assert (fb.name, fb.country, fb.locations, fb.removed, fb.withdrawn) == (
        "Hébergeur B",
        "FR",
        2,
        2,
        1,
    )
    assert fb.removal_hours == (30.0, 48.0)
    assert (fb.median_hours, fb.p90_hours) == (39.0, 48.0)
    assert fb.share_within == {"24h": 0.0, "7d": 1.0, "42d": 1.0}
    assert fa.median_detection_hours == 2.0
    assert fb.median_detection_hours == 2.0
    assert (fa.median_ack_hours, fb.median_ack_hours) == (None, 5.0)
