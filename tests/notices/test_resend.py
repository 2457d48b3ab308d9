"""An analyst's resend: the open locations go out again now, through the outbox, once per
request; recorded with an event and in the audit log; refused when there is nothing to resend.
E-mails are read back from a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from click.testing import CliRunner

from keepdown.app import open_notice_services
from keepdown.cli import cli
from keepdown.errors import Conflict, InvalidInput
from keepdown.events import NoticeResendRequested, NoticeSent
from keepdown.notices.lifecycle import LocationState, NoticeState
from keepdown.notices.model import DeliveryKind, DeliveryState
from keepdown.notices.providers import Provider

from .conftest import T0, add_sighting, known_image, seed_bank

H = timedelta(hours=1)


@pytest.fixture
def sent_notice(nsettings, clock, smtp):
    """A notice of two locations, sent at T0 to Host (one e-mail in the mailbox)."""
    entries = seed_bank(nsettings, clock)
    services = open_notice_services(nsettings, clock=clock)
    services.providers.add(
        Provider(name="Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@host.test",)),
        clock.now(),
    )
    for i in range(2):
        add_sighting(
            services.storage.engine,
            services.storage.events,
            media_url=f"http://img.host.test/{i}.jpg",
            image=known_image(i),
            entries=entries,
            seen_at=T0 - H,
        )
    asyncio.run(services.service.send_due())
    (notice,) = services.notices.list_notices()
    assert len(smtp.by_reference(notice.reference)) == 1
    yield services, notice
    services.close()


def events_of(services, cls):
    return [e for e in services.storage.events.read() if isinstance(e, cls)]


def test_a_resend_goes_out_now_once_per_request(sent_notice, smtp, clock):
    services, notice = sent_notice
    clock.advance(2 * H)

    done = asyncio.run(
        services.service.resend(notice.reference, requested_by="ana", request_id="req-0001")
    )

    d = done.delivery
    assert (d.state, d.kind, d.resend, done.asked_before) == (
        DeliveryState.SENT,
        DeliveryKind.RENOTICE,
        True,
        False,
    )
    mails = smtp.by_reference(notice.reference)
    assert len(mails) == 2
    assert mails[-1]["Message-ID"] == d.message_key
    assert "We are sending it again" in mails[-1].get_content()
    for loc in notice.locations:
        assert loc.media_url in mails[-1].get_content()
    # The same request again (a double click, a reload): the same delivery, nothing more sent.
    again = asyncio.run(
        services.service.resend(notice.reference, requested_by="ana", request_id="req-0001")
    )
    assert (again.delivery.id, again.asked_before) == (d.id, True)
    assert len(smtp.by_reference(notice.reference)) == 2

    (asked,) = events_of(services, NoticeResendRequested)
    assert (asked.requested_by, asked.delivery_id, asked.at) == ("ana", str(d.id), T0 + 2 * H)
    assert sorted(asked.locations) == sorted(str(loc.id) for loc in notice.locations)
    resent = [e for e in events_of(services, NoticeSent) if e.resend]
    assert len(resent) == 1
    assert resent[0].renotice
    assert resent[0].at == T0 + 2 * H
    after = services.notices.get(notice.reference)
    assert after.state is NoticeState.RENOTICED
    assert all(loc.status.notices_sent == 2 for loc in after.locations)
    assert all(loc.status.last_notice_at == T0 + 2 * H for loc in after.locations)
    # A new request is a new resend.
    third = asyncio.run(services.service.resend(notice.reference, requested_by="ana"))
    assert third.delivery.id != d.id
    assert len(smtp.by_reference(notice.reference)) == 3


def test_a_resend_names_only_the_open_locations_and_is_refused_once_closed(
    sent_notice, smtp, clock
):
    services, notice = sent_notice
    first, second = notice.locations
    services.service.dispute(notice.reference, first.id, "not this material")
    services.service.review(notice.reference, first.id, "upheld")  # withdrawn: closed

    done = asyncio.run(services.service.resend(notice.reference, requested_by="ana"))

    assert done.delivery.location_ids == (second.id,)
    text = smtp.by_reference(notice.reference)[-1].get_content()
    assert second.media_url in text
    assert first.media_url not in text
    services.service.dispute(notice.reference, second.id, "gone, and not ours")
    services.service.review(notice.reference, second.id, "upheld")
    assert services.notices.get(notice.reference).state is NoticeState.REVIEWED
    with pytest.raises(Conflict, match="no location is open"):
        asyncio.run(services.service.resend(notice.reference, requested_by="ana"))
    assert len(smtp.by_reference(notice.reference)) == 2
    assert len(events_of(services, NoticeResendRequested)) == 1


def test_a_resend_of_a_notice_not_sent_yet_is_refused(nsettings, clock, smtp):
    entries = seed_bank(nsettings, clock)
    services = open_notice_services(nsettings, clock=clock)
    try:
        services.providers.add(
            Provider(name="Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@host.test",)),
            clock.now(),
        )
        add_sighting(
            services.storage.engine,
            services.storage.events,
            media_url="http://img.host.test/x.jpg",
            image=known_image(0),
            entries=entries,
            seen_at=T0,
        )
        (drafted,) = services.service.drafter.draft(clock.now())
        with pytest.raises(Conflict, match="not sent yet"):
            asyncio.run(services.service.resend(drafted.reference, requested_by="ana"))
        with pytest.raises(InvalidInput):
            asyncio.run(
                services.service.resend(drafted.reference, requested_by="ana", request_id="a b")
            )
        assert services.notices.deliveries() == []
        assert not smtp.messages
    finally:
        services.close()


def test_a_resend_that_cannot_go_out_now_is_retried_once_and_blocks_a_second(
    sent_notice, smtp, clock
):
    services, notice = sent_notice
    smtp.refuse = ["451 4.3.0 try again later"]

    done = asyncio.run(services.service.resend(notice.reference, requested_by="ana"))

    assert done.delivery.state is DeliveryState.PENDING  # in the outbox, retried later
    with pytest.raises(Conflict, match="already on its way"):
        asyncio.run(services.service.resend(notice.reference, requested_by="bob"))
    clock.advance(timedelta(minutes=5))
    report = asyncio.run(services.service.send_due())
    assert report.sent == [done.delivery.id]
    assert len(smtp.by_reference(notice.reference)) == 2  # first notice + the resend, once
    assert asyncio.run(services.service.send_due()).sent == []
    after = services.notices.get(notice.reference)
    assert all(loc.status.state is LocationState.RENOTICED for loc in after.locations)


def test_cli_resend_is_audited(sent_notice, nsettings, database_url, smtp):
    services, notice = sent_notice
    env = {
        "KEEPDOWN_DATA_DIR": str(nsettings.data_path),
        "KEEPDOWN_DATABASE_URL": database_url,
        "KEEPDOWN_SMTP_HOST": "127.0.0.1",
        "KEEPDOWN_SMTP_PORT": str(smtp.port),
        "KEEPDOWN_SMTP_TLS": "none",
        "KEEPDOWN_NOTICE_FROM_ADDRESS": "notices@hotline.test",
    }
    args = ["notices", "resend", notice.reference, "--request-id", "cli-req-1"]
    out = CliRunner(env=env).invoke(cli, args, catch_exceptions=False).output
    assert out.startswith(f"{notice.reference}: delivery ")
    assert out.strip().endswith("sent")
    again = CliRunner(env=env).invoke(cli, args, catch_exceptions=False).output
    assert "this request was made before: nothing more sent" in again
    assert len(smtp.by_reference(notice.reference)) == 2
    records = services.runtime.auth.audit_log.list_records(limit=10, action="notice.resend")
    assert len(records) == 2
    assert {(r.actor, r.target, r.outcome) for r in records} == {("cli", notice.reference, "ok")}
    refused = CliRunner(env=env).invoke(cli, ["notices", "resend", "KDN-2026-999999"])
    assert refused.exit_code != 0
