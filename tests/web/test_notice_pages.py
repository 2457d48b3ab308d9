"""The notice page's Resend button: an analyst sends the open locations again now, once per
form (posting the same form twice sends once), in the audit log; other roles cannot; a closed
notice has no button. E-mails are read back from a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from keepdown.auth import Role
from keepdown.events import NoticeResendRequested
from keepdown.notices.providers import Provider
from keepdown.storage.tables_banks import bank_entries
from tests.notices.conftest import (  # noqa: F401 (smtp is a fixture)
    Mailbox,
    add_sighting,
    known_image,
    seed_bank,
    smtp,
)
from tests.web.conftest import PASSWORD, Web, make_web

REQUEST_ID = re.compile(r'name="request_id" value="([0-9a-f]{32})"')


@pytest.fixture
def sent(tmp_path: Path, smtp: Mailbox) -> Iterator[tuple[Web, str]]:  # noqa: F811
    """The web app sending through the loopback SMTP server, people of every role, and a
    notice of one location sent to Host."""
    app, services, ctx, clock = make_web(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        operator_organisation="hotline",
    )
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        web = Web(client=client, services=services, ctx=ctx, clock=clock)
        entries = seed_bank(ctx.settings, clock)
        for role in Role:
            ctx.signin.add_user(f"{role.value}-person", PASSWORD, organisation="hotline", role=role)
            web.users[role] = f"{role.value}-person"
        ctx.providers.add(
            Provider(name="Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@host.test",)),
            clock.now(),
        )
        add_sighting(
            services.storage.engine,
            services.storage.events,
            media_url="http://img.host.test/a.jpg",
            image=known_image(0),
            entries=entries,
            seen_at=clock.now(),
        )
        asyncio.run(ctx.notices.send_due())
        (notice,) = ctx.notices.store.list_notices()
        yield web, notice.reference


def test_the_resend_button_sends_once_per_form_and_is_audited(sent, smtp) -> None:  # noqa: F811
    web, reference = sent
    web.sign_in_as(Role.ANALYST)
    page = web.client.get(f"/web/notices/{reference}").text
    assert f'action="/web/notices/{reference}/resend"' in page
    form = {"request_id": REQUEST_ID.search(page).group(1), "csrf_token": web.csrf(page)}

    for _ in range(2):  # a double click posts the same form twice
        answer = web.client.post(
            f"/web/notices/{reference}/resend", data=form, follow_redirects=False
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/web/notices/{reference}?done=resent"

    assert len(smtp.by_reference(reference)) == 2  # the first notice, and the resend once
    (asked,) = [
        e for e in web.services.storage.events.read() if isinstance(e, NoticeResendRequested)
    ]
    assert asked.requested_by == web.users[Role.ANALYST]
    records = web.services.auth.audit_log.list_records(limit=10, action="notice.resend")
    assert [r.actor for r in records] == [f"user:{web.users[Role.ANALYST]}"] * 2
    assert sorted(r.details["asked_before"] for r in records) == [False, True]
    shown = web.client.get(f"/web/notices/{reference}").text
    assert shown.count("<td>renotice</td>") == 1


def test_only_staff_may_resend_and_a_closed_notice_has_no_button(sent, smtp) -> None:  # noqa: F811
    web, reference = sent
    web.sign_in_as(Role.PLATFORM)
    refused = web.post(f"/web/notices/{reference}/resend")
    assert refused.status_code in (403, 404)
    assert len(smtp.by_reference(reference)) == 1

    notice = web.ctx.notices.store.get(reference)
    (loc,) = notice.locations
    web.ctx.notices.dispute(reference, loc.id, "not this material")
    web.ctx.notices.review(reference, loc.id, "upheld")
    web.sign_in_as(Role.ANALYST)
    page = web.client.get(f"/web/notices/{reference}").text
    assert "/resend" not in page
    late = web.post(f"/web/notices/{reference}/resend")  # a stale page's form
    assert late.status_code == 409
    assert len(smtp.by_reference(reference)) == 1


def test_a_withdrawn_location_seen_again_is_reopened_from_its_page(sent, smtp) -> None:  # noqa: F811
    """The page says a withdrawn location was seen again; the Reopen button (staff only,
    audited before it runs) makes it the same location, notified again; the API does the
    same for programs."""
    web, reference = sent
    notice = web.ctx.notices.store.get(reference)
    (loc,) = notice.locations
    web.ctx.notices.dispute(reference, loc.id, "not this material")
    web.ctx.notices.review(reference, loc.id, "upheld")
    web.clock.advance(3600)
    with web.services.storage.engine.connect() as conn:
        entries = dict(conn.execute(select(bank_entries.c.value, bank_entries.c.id)).all())
    add_sighting(
        web.services.storage.engine,
        web.services.storage.events,
        media_url="http://img.host.test/a.jpg",
        image=known_image(0),
        entries=entries,
        seen_at=web.clock.now(),
    )
    assert asyncio.run(web.ctx.notices.send_due()).drafted == []
    web.sign_in_as(Role.PROVIDER)
    assert web.post(f"/web/notices/{reference}/locations/{loc.id}/reopen").status_code in (
        403,
        404,
    )
    web.sign_in_as(Role.ANALYST)
    page = web.client.get(f"/web/notices/{reference}").text
    assert "seen-again" in page
    assert f"/locations/{loc.id}/reopen" in page
    done = web.post(f"/web/notices/{reference}/locations/{loc.id}/reopen", {"reason": "back"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/web/notices/{reference}?done=reopened"
    assert web.ctx.notices.store.get(reference).location(loc.id).status.state.value == "notified"
    (record,) = web.services.auth.audit_log.list_records(limit=5, action="notice.reopen")
    assert (record.outcome, record.details["location_id"]) == ("ok", loc.id)
    again = web.post(f"/web/notices/{reference}/locations/{loc.id}/reopen")
    assert again.status_code == 409  # open already
