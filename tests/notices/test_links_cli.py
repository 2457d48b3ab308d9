"""The signed link (expiry, tampering, JSON and form answers, escaping, origin) through the
real app, and the `keepdown provider` / `keepdown notices` commands on a real database."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from keepdown.app import open_notice_services
from keepdown.app.server import build_app
from keepdown.cli import cli
from keepdown.notices.lifecycle import LocationState
from keepdown.notices.providers import Provider
from keepdown.notices.senders import RecordingSender

from .conftest import T0, add_sighting, known_image, seed_bank


@pytest.fixture
def linked(nsettings, clock):
    """A sent notice (two locations, one URL with markup in it) and the app serving links."""
    entries = seed_bank(nsettings, clock)
    sender = RecordingSender()
    services = open_notice_services(nsettings, clock=clock, senders={"email": sender})
    services.providers.add(
        Provider(name="Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@h.test",)), T0
    )
    for i, url in enumerate(("http://h.test/a.jpg", 'http://h.test/"><script>x</script>.jpg')):
        add_sighting(
            services.storage.engine,
            services.storage.events,
            media_url=url,
            image=known_image(i),
            entries=entries,
            seen_at=T0,
        )
    asyncio.run(services.service.send_due())
    ((delivery, _),) = sender.sent
    link = next(line.strip() for line in delivery.body.splitlines() if "token=" in line)
    app, app_services = build_app(nsettings, clock=clock, refresh_in_background=False)
    client = TestClient(app)
    (notice,) = services.notices.list_notices()
    yield services, client, urlsplit(link), notice
    client.close()
    app_services.storage.close()
    services.close()


def test_the_page_escapes_urls_and_refuses_framing(linked):
    _, client, link, _ = linked
    page = client.get(f"{link.path}?{link.query}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "<script>x</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    as_json = client.get(f"{link.path}?{link.query}")
    assert as_json.headers["content-type"].startswith("application/json")


def test_expired_and_tampered_links_are_refused(linked, clock):
    _, client, link, _ = linked
    token = link.query.removeprefix("token=")
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert client.get(f"{link.path}?token={flipped}").status_code == 401
    assert client.get(link.path).status_code in (401, 403)  # no token, no key
    clock.advance(timedelta(days=31))  # notice_link_days = 30
    expired = client.get(f"{link.path}?{link.query}")
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]


def test_json_answers_and_their_states(linked, clock):
    services, client, link, notice = linked
    first, second = notice.locations
    base = f"{link.path}/%s?{link.query}"
    ack = client.post(base % "acknowledge", json={})
    assert ack.status_code == 200
    assert ack.json()["state"] == "acknowledged"
    gone = client.post(base % "removed", json={"location_id": first.id})
    assert gone.json()["locations"][0]["removal_reported_at"] is not None
    assert client.post(base % "removed", json={"location_id": 999999}).status_code == 404
    assert client.post(base % "dispute", json={"location_id": second.id}).status_code == 400
    disputed = client.post(base % "dispute", json={"location_id": second.id, "reason": "no"})
    assert disputed.json()["locations"][1]["state"] == "disputed"
    current = services.notices.get(notice.reference)
    assert current.location(second.id).status.state is LocationState.DISPUTED
    assert current.location(first.id).status.next_check_at == clock.now()  # checked at once


def test_link_answers_are_audited_before_they_change_the_notice(linked):
    """Each answer is recorded as the signed link acting for the provider, then settled; an
    answer that fails (an unknown location) is settled as failed, not left as started."""
    _, client, link, notice = linked
    base = f"{link.path}/%s?{link.query}"
    assert client.post(base % "acknowledge", json={}).status_code == 200
    assert client.post(base % "removed", json={"location_id": 999999}).status_code == 404
    log = client.app.state.ctx.auth.audit_log
    records = {r.action: r for r in log.list_records(limit=20) if r.action.startswith("notice.")}
    ack, removed = records["notice.acknowledge"], records["notice.removed"]
    assert (ack.actor, ack.organisation, ack.role) == ("signed-link", "Host", "provider")
    assert (ack.target, ack.outcome) == (notice.reference, "ok")
    assert (removed.outcome, removed.details["location_id"]) == ("failed", 999999)
    assert removed.details["error"] == "not_found"


def test_a_form_posted_from_another_site_is_refused(linked):
    _, client, link, _ = linked
    refused = client.post(
        f"{link.path}/acknowledge?{link.query}",
        content="",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "https://evil.example",
        },
    )
    assert refused.status_code == 403
    assert client.get(f"{link.path}?{link.query}").json()["acknowledged_at"] is None


def test_any_answer_posted_from_another_site_is_refused(linked):
    """Item 15: only form posts were checked; a text/plain post (no preflight) passed."""
    _, client, link, _ = linked
    for content_type in ("text/plain", "application/json"):
        refused = client.post(
            f"{link.path}/acknowledge?{link.query}",
            content="{}",
            headers={"Content-Type": content_type, "Origin": "https://evil.example"},
        )
        assert refused.status_code == 403, content_type
    assert client.get(f"{link.path}?{link.query}").json()["acknowledged_at"] is None


def test_a_link_whose_provider_is_true_is_refused():
    """Item 15: ``"p": true`` passed as the provider id 1 (bool is an int to isinstance)."""
    from datetime import UTC, datetime

    import pytest

    from keepdown.errors import AuthError
    from keepdown.notices.links import _claims

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert _claims({"r": "KD-1", "p": 1}, now).provider_id == 1
    for bad in (True, False, 1.0, "1"):
        with pytest.raises(AuthError):
            _claims({"r": "KD-1", "p": bad}, now)


def cli_run(env, *args):
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    return result


def test_provider_and_notice_commands(nsettings, clock, database_url, tmp_path):
    env = {
        "KEEPDOWN_DATA_DIR": str(nsettings.data_path),
        "KEEPDOWN_DATABASE_URL": database_url,
        "KEEPDOWN_CRAWL_ALLOWED_NETWORKS": "127.0.0.0/8",
        "KEEPDOWN_NOTICE_LINKS_ON_LOOPBACK": "1",  # the loopback SMTP server reads them
    }
    entries = seed_bank(nsettings, clock)
    added = cli_run(
        env,
        "provider",
        "add",
        "Form Host",
        "--channel",
        "manual",
        "--ip-range",
        "127.0.0.1/32",
        "--country",
        "de",
    )
    assert added.exit_code == 0, added.output
    hook = cli_run(
        env,
        "provider",
        "add",
        "Hook Host",
        "--channel",
        "webhook",
        "--webhook-url",
        "http://127.0.0.1:9/hook",
        "--domain",
        "hook.test",
    )
    secret = hook.output.split("shown once; give it to the provider): ")[1].strip()
    assert len(secret) >= 32
    shown = cli_run(env, "provider", "show", "Hook Host")
    assert secret not in shown.output
    assert json.loads(shown.output)["webhook_secret_set"] is True
    listed = cli_run(env, "provider", "list").output.splitlines()
    assert listed == [
        "Form Host\tmanual\ten\tDE\t127.0.0.1/32\t-",
        "Hook Host\twebhook\ten\t-\t-\thook.test",
    ]
    rotated = cli_run(env, "provider", "edit", "Hook Host", "--rotate-webhook-secret")
    assert "shown once" in rotated.output
    assert secret not in rotated.output
    bad = CliRunner(env=env).invoke(cli, ["provider", "edit", "Form Host", "--ip-range", "nope"])
    assert bad.exit_code != 0
    assert "not an IP range" in bad.output
    assert len(cli_run(env, "provider", "new-key").output.strip()) == 44

    services = open_notice_services(nsettings, clock=clock)
    try:
        add_sighting(
            services.storage.engine,
            services.storage.events,
            media_url="http://127.0.0.1/x.jpg",
            image=known_image(0),
            entries=entries,
            seen_at=T0,
        )
        add_sighting(
            services.storage.engine,
            services.storage.events,
            media_url="http://unknown.test/y.jpg",
            image=known_image(1),
            entries=entries,
            seen_at=T0,
            server_ip="192.0.2.9",
        )
    finally:
        services.close()
    unknown = cli_run(env, "provider", "unknown").output
    assert unknown.startswith("unknown.test\t192.0.2.9\t1 sightings")
    sent = cli_run(env, "notices", "send-due").output
    assert sent.startswith("drafted 1  planned 1  sent 0")
    (line,) = cli_run(env, "notices", "list").output.splitlines()
    reference = line.split("\t")[0]
    assert line.split("\t")[1:4] == ["Form Host", "drafted", "0/1"]  # open / all
    show = cli_run(env, "notices", "show", reference).output
    assert "http://127.0.0.1/x.jpg" in show
    delivery_id = show.split("delivery ")[1].split()[0]
    assert "manual" in show
    confirmed = cli_run(env, "notices", "confirm-delivery", delivery_id, "--delivered").output
    assert confirmed.strip().endswith(": sent")
    assert cli_run(env, "notices", "list", "--state", "sent").output.startswith(reference)
    figures = cli_run(env, "notices", "figures").output.splitlines()
    # notified 1, removed 0, still present 1, withdrawn 0, no time to removal yet
    assert figures[2].startswith("Form Host\tDE\t1\t0\t1\t0\t-\t-\t-\t0%")
    assert cli_run(env, "notices", "recheck-due").output.startswith("checked 0")
    wrong = CliRunner(env=env).invoke(cli, ["notices", "review", reference, "1", "--upheld"])
    assert wrong.exit_code != 0  # only a disputed location can be reviewed
