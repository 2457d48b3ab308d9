"""Delivery with real parts: e-mails read back from an SMTP server, webhooks checked by a
receiver that verifies their HMAC, failures retried or given up as the outbox says."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest

from keepdown.app import open_notice_services
from keepdown.events import NoticeSent
from keepdown.notices.lifecycle import LocationState, NoticeState
from keepdown.notices.model import DeliveryState
from keepdown.notices.providers import Provider
from keepdown.notices.senders import sign_webhook, verify_webhook

from .conftest import T0, add_sighting, known_image, notice_settings, seed_bank


@pytest.fixture
def world(nsettings, clock):
    """Notice services, the bank, and two providers: Hosting A (en) and Hébergeur B (fr)."""
    entries = seed_bank(nsettings, clock)
    services = open_notice_services(nsettings, clock=clock)
    now = clock.now()
    a = services.providers.add(
        Provider(
            name="Hosting A",
            ip_ranges=("127.0.0.1/32",),
            abuse_contacts=("abuse@hosting-a.test",),
            country="NL",
        ),
        now,
    )
    b = services.providers.add(
        Provider(
            name="Hébergeur B",
            domains=("heberg-b.test",),
            abuse_contacts=("abus@heberg-b.test", "noc@heberg-b.test"),
            language="fr",
            country="FR",
        ),
        now,
    )
    yield services, entries, a, b
    services.close()


def sight(services, entries, url, i, when, ip="127.0.0.1"):
    return add_sighting(
        services.storage.engine,
        services.storage.events,
        media_url=url,
        image=known_image(i),
        entries=entries,
        seen_at=when,
        server_ip=ip,
    )


def run(coro):
    return asyncio.run(coro)


def test_notices_by_email_in_the_providers_language(world, smtp, clock):
    services, entries, _a, _b = world
    urls_a = ["http://img.hosting-a.test/x/1.jpg", "http://img.hosting-a.test/x/2.jpg"]
    url_b = "http://cdn.heberg-b.test/p/3.jpg"
    for i, url in enumerate(urls_a):
        sight(services, entries, url, i, T0 - timedelta(hours=3))
    sight(services, entries, url_b, 2, T0 - timedelta(hours=2), ip="203.0.113.9")

    report = run(services.service.send_due())

    assert len(report.drafted) == 2
    assert len(report.sent) == 2
    notices = {n.provider: n for n in services.notices.list_notices()}
    assert set(notices) == {"Hosting A", "Hébergeur B"}
    for provider, urls, lang in (("Hosting A", urls_a, "en"), ("Hébergeur B", [url_b], "fr")):
        notice = notices[provider]
        assert notice.state is NoticeState.SENT
        assert notice.first_sent_at == T0
        assert [loc.status.state for loc in notice.locations] == [LocationState.NOTIFIED] * len(
            urls
        )
        (mail,) = smtp.by_reference(notice.reference)
        subject, text = str(mail["Subject"]), mail.get_content()
        assert subject.startswith(f"[{notice.reference}]")
        assert mail["X-Keepdown-Reference"] == notice.reference
        assert mail["Message-ID"].endswith("@hotline.test>")
        assert not mail.is_multipart()
        assert mail.get_content_type() == "text/plain"
        for loc in notice.locations:
            assert loc.media_url in text
            assert loc.page_url in text
            assert loc.sha256 in text
            assert loc.md5 in text
        assert ("Référence" in text) == (lang == "fr")
        assert ("Removal request" in subject) == (lang == "en")
        assert ("demande de retrait" in subject) == (lang == "fr")
        assert "csam" in text  # the classification category, and nothing about content
        assert "https://keepdown.hotline.test/api/v1/notice-response?token=" in text
    # no image, in any form, ever
    raw = b"".join(m.as_bytes() for m in smtp.messages)
    for i in range(3):
        image = known_image(i)
        assert image[:64] not in raw
        assert base64.b64encode(image[:48]) not in raw
    assert b"image/" not in raw
    assert b"<img" not in raw
    assert sorted(smtp.recipients) == [
        ["abus@heberg-b.test", "noc@heberg-b.test"],
        ["abuse@hosting-a.test"],
    ]
    sent = [e for e in services.storage.events.read() if isinstance(e, NoticeSent)]
    assert sorted(len(e.locations) for e in sent) == [1, 2]
    assert all(not e.renotice and e.at == T0 and e.channel == "email" for e in sent)
    # a second pass has nothing to do: nothing is sent twice
    again = run(services.service.send_due())
    assert (again.drafted, again.planned, again.sent) == ([], [], [])
    assert len(smtp.messages) == 2


def test_webhook_is_signed_and_retried_with_the_same_idempotency_key(world, receiver, clock):
    services, entries, _, _ = world
    hook = services.providers.add(
        Provider(
            name="Webhook Host",
            domains=("hook.test",),
            channel="webhook",
            webhook_url=receiver.url,
            webhook_secret=receiver.secret,
        ),
        clock.now(),
    )
    assert "secret" not in repr(hook)
    assert hook.to_public()["webhook_secret_set"] is True
    assert receiver.secret not in str(hook.to_public())
    url = "http://media.hook.test/a.jpg"
    sight(services, entries, url, 3, T0 - timedelta(hours=1), ip="198.51.100.7")
    receiver.fail_next = [503, 502]

    report = run(services.service.send_due())

    assert len(report.sent) == 1
    assert len(receiver.calls) == 3
    assert all(c.signature_ok for c in receiver.calls)
    keys = {c.headers["Idempotency-Key"] for c in receiver.calls}
    assert len(keys) == 1
    assert len(receiver.effects) == 1
    doc = receiver.calls[-1].document
    (notice,) = services.notices.list_notices(provider_ids=[hook.id])
    assert doc["reference"] == notice.reference
    assert doc["type"] == "keepdown.notice"
    assert [loc["media_url"] for loc in doc["locations"]] == [url]
    assert doc["locations"][0]["sha256"] == notice.locations[0].sha256
    assert doc["respond"]["url"].startswith("https://keepdown.hotline.test/api/v1/notice-resp")
    assert notice.state is NoticeState.SENT


def test_webhook_refused_with_4xx_fails_without_retry(world, receiver, clock):
    services, entries, _, _ = world
    services.providers.add(
        Provider(
            name="Refusing Host",
            domains=("refuse.test",),
            channel="webhook",
            webhook_url=receiver.url,
            webhook_secret=receiver.secret,
        ),
        clock.now(),
    )
    sight(services, entries, "http://x.refuse.test/a.jpg", 0, T0, ip="198.51.100.8")
    receiver.fail_next = [400]
    report = run(services.service.send_due())
    assert len(report.failed) == 1
    assert len(receiver.calls) == 1
    (d,) = services.notices.deliveries()
    assert d.state is DeliveryState.FAILED
    assert "HTTP 400" in d.last_error
    (notice,) = services.notices.list_notices()
    assert notice.state is NoticeState.DRAFTED
    assert not [e for e in services.storage.events.read() if isinstance(e, NoticeSent)]


def test_webhook_with_a_wrong_secret_is_rejected_by_the_receiver(receiver):
    body = b'{"reference":"KDN-2026-000001"}'
    good = sign_webhook(receiver.secret, 1700000000, body)
    assert verify_webhook(receiver.secret, good, body)
    assert not verify_webhook("another-secret-entirely", good, body)
    assert not verify_webhook(receiver.secret, good, body + b" ")
    assert not verify_webhook(receiver.secret, "t=x,v1=zz", body)
    assert not verify_webhook(receiver.secret, "", body)


def test_smtp_refusals_permanent_and_temporary(world, smtp, clock):
    services, entries, _a, _ = world
    sight(services, entries, "http://img.hosting-a.test/t/1.jpg", 0, T0)
    smtp.refuse = ["451 4.3.0 try again later"]
    report = run(services.service.send_due())
    assert report.retrying
    assert not report.sent
    (d,) = services.notices.deliveries()
    assert d.state is DeliveryState.PENDING
    assert d.next_attempt_at == T0 + timedelta(minutes=5)
    assert run(services.service.send_due()).sent == []  # not before its time
    clock.advance(timedelta(minutes=5))
    smtp.refuse = ["550 5.1.1 mailbox unknown"]
    report = run(services.service.send_due())
    assert report.failed == [d.id]
    assert not smtp.messages
    assert services.notices.get_delivery(d.id).state is DeliveryState.FAILED


def test_smtp_server_down_is_retried_with_backoff(db_settings, clock):
    settings = notice_settings(db_settings, smtp_port=1, notice_delivery_backoff_seconds=60)
    entries = seed_bank(settings, clock)
    services = open_notice_services(settings, clock=clock)
    try:
        services.providers.add(
            Provider(name="P", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@p.test",)),
            clock.now(),
        )
        sight(services, entries, "http://p.test/1.jpg", 0, T0)
        for attempt in range(1, 4):
            report = run(services.service.send_due())
            (d,) = services.notices.deliveries()
            assert report.retrying == [d.id]
            assert d.attempts == attempt
            assert d.next_attempt_at == clock.now() + timedelta(seconds=60 * 2 ** (attempt - 1))
            clock.set(d.next_attempt_at)
    finally:
        services.close()


def test_manual_channel_waits_for_an_analyst(world, clock):
    services, entries, _, _ = world
    services.providers.add(
        Provider(name="Form Only", domains=("form.test",), channel="manual"), clock.now()
    )
    sight(services, entries, "http://form.test/a.jpg", 1, T0, ip="192.0.2.44")
    report = run(services.service.send_due())
    assert report.sent == []
    assert len(report.planned) == 1
    (d,) = services.notices.deliveries(states=["manual"])
    assert "form.test/a.jpg" in d.body  # the text to paste into the provider's form
    clock.advance(timedelta(hours=2))
    services.service.confirm_delivery(d.id, delivered=True)
    (notice,) = services.notices.list_notices()
    assert notice.state is NoticeState.SENT
    assert notice.first_sent_at == T0 + timedelta(hours=2)
    (event,) = [e for e in services.storage.events.read() if isinstance(e, NoticeSent)]
    assert event.channel == "manual"
    assert event.notice_ref == notice.reference
