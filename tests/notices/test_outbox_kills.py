"""Nothing is sent twice, nothing is lost: a sender killed at each step of a delivery.

A child process (tests/notices/outbox_child.py) runs a send pass and dies with ``os._exit``
at one step; this process then restarts the work (after the child's lease has run out) and
checks what the SMTP server and the webhook receiver got, the outbox row, and the events.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from keepdown.app import open_notice_services
from keepdown.events import NoticeSent
from keepdown.notices.lifecycle import NoticeState
from keepdown.notices.model import DeliveryState
from keepdown.notices.providers import Provider

from .conftest import T0, add_sighting, known_image, seed_bank

REPO = Path(__file__).resolve().parents[2]
KILLED = 137


def run_child(settings, smtp_port: int, step: str) -> int:
    args = {
        "database_url": settings.resolved_database_url,
        "data_dir": str(settings.data_path),
        "smtp_port": smtp_port,
        "step": step,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.notices.outbox_child", json.dumps(args)],
        cwd=REPO,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == KILLED, done.stderr.decode()[-2000:]
    return done.returncode


@pytest.fixture
def prepared(nsettings, clock, receiver):
    """One confirmed sighting at an e-mail provider and one at a webhook provider."""
    entries = seed_bank(nsettings, clock)
    services = open_notice_services(nsettings, clock=clock)
    services.providers.add(
        Provider(name="Mail Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@m.test",)),
        clock.now(),
    )
    services.providers.add(
        Provider(
            name="Hook Host",
            ip_ranges=("192.0.2.0/24",),
            channel="webhook",
            webhook_url=receiver.url,
            webhook_secret=receiver.secret,
        ),
        clock.now(),
    )
    for i, (url, ip) in enumerate(
        (("http://m.test/1.jpg", "127.0.0.1"), ("http://h.test/2.jpg", "192.0.2.5"))
    ):
        add_sighting(
            services.storage.engine,
            services.storage.events,
            media_url=url,
            image=known_image(i),
            entries=entries,
            seen_at=T0 - timedelta(hours=1),
            server_ip=ip,
        )
    yield services
    services.close()


def restart(services, clock):
    clock.advance(timedelta(seconds=301))  # past the killed sender's lease
    return asyncio.run(services.service.send_due())


def sent_events(services) -> list[NoticeSent]:
    return [e for e in services.storage.events.read() if isinstance(e, NoticeSent)]


def by_channel(services):
    return {d.channel: d for d in services.notices.deliveries()}


@pytest.mark.parametrize("step", ["after_intent", "after_claim", "after_recorded"])
def test_kill_where_the_record_is_unambiguous(prepared, nsettings, smtp, receiver, clock, step):
    run_child(nsettings, smtp.port, step)
    delivered_before = len(smtp.messages)
    restart(prepared, clock)
    deliveries = by_channel(prepared)
    assert {d.state for d in deliveries.values()} == {DeliveryState.SENT}
    assert len(smtp.messages) == 1
    assert len(receiver.effects) == 1
    if step == "after_recorded":
        assert delivered_before == 1  # sent and recorded before the kill; not sent again
        assert len(receiver.calls) == 1
    assert len(sent_events(prepared)) == 2
    assert {n.state for n in prepared.notices.list_notices()} == {NoticeState.SENT}


def test_kill_after_handover_before_the_message_left(prepared, nsettings, smtp, receiver, clock):
    run_child(nsettings, smtp.port, "after_handover")
    report = restart(prepared, clock)
    mail, hook = by_channel(prepared)["email"], by_channel(prepared)["webhook"]
    # e-mail: it may have gone (the record cannot say), so it waits for an operator
    assert report.uncertain == [mail.id]
    assert mail.state is DeliveryState.UNCERTAIN
    assert "may have been delivered" in mail.last_error
    assert mail.message_key in mail.last_error
    # webhook: re-sent with the same idempotency key (the receiver drops repeats)
    assert hook.state is DeliveryState.SENT
    assert len(receiver.effects) == 1
    assert not smtp.messages
    # the operator finds nothing in the mail log: send it again, once
    prepared.service.confirm_delivery(mail.id, delivered=False)
    asyncio.run(prepared.service.send_due())
    assert len(smtp.messages) == 1
    assert prepared.notices.get_delivery(mail.id).state is DeliveryState.SENT
    assert len(sent_events(prepared)) == 2


def test_kill_after_the_server_accepted_before_recording(
    prepared, nsettings, smtp, receiver, clock
):
    run_child(nsettings, smtp.port, "after_delivered")  # killed once the e-mail was accepted
    run_child(nsettings, smtp.port, "after_delivered")  # ... and once the webhook was
    assert len(smtp.messages) == 1
    assert len(receiver.calls) == 1
    restart(prepared, clock)
    mail, hook = by_channel(prepared)["email"], by_channel(prepared)["webhook"]
    assert mail.state is DeliveryState.UNCERTAIN
    assert len(smtp.messages) == 1  # not repeated blindly
    # the webhook was repeated with the same key: two calls, one effect
    assert hook.state is DeliveryState.SENT
    assert len(receiver.calls) == 2
    assert len(receiver.effects) == 1
    assert (
        receiver.calls[0].headers["Idempotency-Key"] == receiver.calls[1].headers["Idempotency-Key"]
    )
    # the operator finds the Message-ID in the mail log: record it as sent when it was sent
    prepared.service.confirm_delivery(mail.id, delivered=True)
    asyncio.run(prepared.service.send_due())
    assert len(smtp.messages) == 1
    events = sent_events(prepared)
    assert len(events) == 2
    (mail_event,) = [e for e in events if e.channel == "email"]
    assert mail_event.at == T0  # the claim time, not the confirmation time
    assert {n.state for n in prepared.notices.list_notices()} == {NoticeState.SENT}
