"""A delivery that failed for good is not planned again to the same contact on every pass: it
waits for the provider's contact to be edited, or for an operator's explicit retry; the CLI
list and figures show it. A real SMTP server refuses and accepts; a loopback host keeps the
material online so re-notices fall due; the clock is frozen."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner

from keepdown.app import open_notice_services
from keepdown.cli import cli
from keepdown.crawl.transport import StaticResolver
from keepdown.errors import Conflict
from keepdown.events import DeliveryFailed, NoticeSent
from keepdown.notices.lifecycle import NoticeState
from keepdown.notices.model import DeliveryKind, DeliveryState
from keepdown.notices.providers import Provider

from .conftest import T0, add_sighting, known_image, seed_bank

H = timedelta(hours=1)
HOST = "files.host.test"
REFUSED = "550 5.1.1 mailbox unknown"


@pytest.fixture
def hosted(nsettings, clock, sites):
    """Provider Host (abuse a@h.test) on 127.0.0.1, with the known stand-in online at /a.jpg."""
    site = sites[0]
    entries = seed_bank(nsettings, clock)
    services = open_notice_services(
        nsettings, clock=clock, resolver=StaticResolver({HOST: ["127.0.0.1"]})
    )
    services.providers.add(
        Provider(name="Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@h.test",)),
        clock.now(),
    )
    site.put("/a.jpg", known_image(0))
    add_sighting(
        services.storage.engine,
        services.storage.events,
        media_url=f"http://{HOST}:{site.port}/a.jpg",
        image=known_image(0),
        entries=entries,
        seen_at=clock.now(),
    )
    yield services
    services.close()


def send(services):
    return asyncio.run(services.service.send_due())


def failures(services):
    return [e for e in services.storage.events.read() if isinstance(e, DeliveryFailed)]


def day_later_still_there(services, clock):
    clock.advance(24 * H)
    assert asyncio.run(services.tracker.recheck_due()).present == 1


def edit_contact(services, contact):
    host = services.providers.get("Host")
    services.providers.update(replace(host, abuse_contacts=(contact,)), services.clock.now())


def cli_env(nsettings, database_url, smtp):
    return {
        "KEEPDOWN_DATA_DIR": str(nsettings.data_path),
        "KEEPDOWN_DATABASE_URL": database_url,
        "KEEPDOWN_SMTP_HOST": "127.0.0.1",
        "KEEPDOWN_SMTP_PORT": str(smtp.port),
        "KEEPDOWN_SMTP_TLS": "none",
    }


def test_a_permanently_failed_renotice_waits_for_the_contact_to_be_edited(
    hosted, smtp, clock, nsettings, database_url
):
    services = hosted
    assert len(send(services).sent) == 1  # the first notice
    day_later_still_there(services, clock)
    smtp.refuse = [REFUSED]
    report = send(services)
    (failed,) = report.failed
    assert services.notices.get_delivery(failed).kind is DeliveryKind.RENOTICE

    for _ in range(3):  # still there, re-notice due again and again: nothing planned
        day_later_still_there(services, clock)
        again = send(services)
        assert (again.planned, again.sent, again.failed) == ([], [], [])
    assert len(services.notices.deliveries()) == 2
    assert [e.outcome for e in failures(services)] == ["failed"]
    assert len(smtp.messages) == 1

    env = cli_env(nsettings, database_url, smtp)
    (line,) = CliRunner(env=env).invoke(cli, ["notices", "list"]).output.splitlines()
    assert line.endswith("\tdelivery failed (1)")
    figures = CliRunner(env=env).invoke(cli, ["notices", "figures"]).output.splitlines()
    assert figures[0].startswith("period to ")
    assert figures[1].endswith("\tdeliveries failed")
    assert figures[2].startswith("Host\t")
    assert figures[2].endswith("\t1")
    assert figures[3].startswith("all providers\t")

    edit_contact(services, "abuse@h.test")
    report = send(services)
    assert len(report.sent) == 1
    assert smtp.recipients[-1] == ["abuse@h.test"]
    (notice,) = services.notices.list_notices()
    assert notice.state is NoticeState.RENOTICED
    assert send(services).planned == []  # and the schedule is back to normal


def test_a_failed_first_notice_goes_out_once_the_contact_is_edited(hosted, smtp, clock):
    services = hosted
    smtp.refuse = [REFUSED]
    assert len(send(services).failed) == 1
    (notice,) = services.notices.list_notices()
    assert notice.state is NoticeState.DRAFTED
    clock.advance(H)
    assert send(services).planned == []
    edit_contact(services, "abuse@h.test")
    report = send(services)
    assert len(report.sent) == 1
    (notice,) = services.notices.list_notices()
    assert notice.state is NoticeState.SENT
    assert notice.first_sent_at == T0 + H
    sent = [e for e in services.storage.events.read() if isinstance(e, NoticeSent)]
    assert len(sent) == 1


def test_an_operator_retries_a_failed_delivery_as_it_was(
    hosted, smtp, clock, nsettings, database_url
):
    services = hosted
    smtp.refuse = [REFUSED]
    (failed,) = send(services).failed
    env = cli_env(nsettings, database_url, smtp)
    out = CliRunner(env=env).invoke(cli, ["notices", "retry-delivery", str(failed)]).output
    assert out.startswith(f"delivery {failed} of ")
    assert "pending" in out
    d = services.notices.get_delivery(failed)
    assert (d.state, d.attempts, d.next_attempt_at) == (DeliveryState.PENDING, 0, None)
    assert send(services).sent == [failed]
    assert smtp.recipients == [["a@h.test"]]  # the same message to the same contact
    (notice,) = services.notices.list_notices()
    assert notice.state is NoticeState.SENT
    with pytest.raises(Conflict):  # only a failed delivery can be retried
        services.service.retry_delivery(failed)
    refused = CliRunner(env=env).invoke(cli, ["notices", "retry-delivery", str(failed)])
    assert refused.exit_code != 0
