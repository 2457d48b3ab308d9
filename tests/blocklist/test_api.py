"""The block list over HTTP: licensees fetch every form (audited), keyed feeds per licensee,
analysts list domains and decide appeals; the public splash page and its appeal form."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.blocklist.keyed import FeedClient
from tests.api.conftest import make_settings

from .conftest import Locations


@pytest.fixture
def world(tmp_path: Path):
    settings = make_settings(
        tmp_path,
        blocklist_refresh_seconds=0,
        blocklist_canary_host="canary.hotline.test",
        web_cookie_secure=False,
    )
    app, runtime = build_app(settings, refresh_in_background=False)
    with TestClient(app) as client:
        auth = runtime.auth
        auth.ensure_organisation("acme")
        auth.ensure_organisation("isp-one")
        auth.ensure_organisation("isp-two")
        tokens = {
            "analyst": auth.issue_key("acme", Role.ANALYST, expires_in=timedelta(days=1)).token,
            "isp-one": auth.issue_key("isp-one", Role.LICENSEE).token,
            "isp-two": auth.issue_key("isp-two", Role.LICENSEE).token,
            "platform": auth.issue_key("acme", Role.PLATFORM).token,
        }
        locations = Locations(runtime.storage.engine, runtime.clock.now())
        yield (
            client,
            runtime,
            locations,
            {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()},
        )


def test_licensees_fetch_every_form_and_each_fetch_is_audited(world) -> None:
    client, runtime, locations, h = world
    loc = locations.add("http://img.hosting-a.test/a/1.jpg", runtime.clock.now())
    listed = client.get("/api/v1/blocklist", headers=h["isp-one"])
    assert listed.status_code == 200
    serial = int(listed.headers["Keepdown-Blocklist-Serial"])
    targets = {e["target"] for e in listed.json()["entries"]}
    assert "http://img.hosting-a.test/a/1.jpg" in targets
    assert "canary.hotline.test" in targets
    for fmt in ("csv", "rpz", "squid-domains", "squid-urls"):
        got = client.get(f"/api/v1/blocklist?format={fmt}", headers=h["isp-one"])
        assert got.status_code == 200, fmt
    rpz = client.get("/api/v1/blocklist?format=rpz", headers=h["isp-one"]).text
    assert "canary.hotline.test 300 IN CNAME ." in rpz
    assert client.get("/api/v1/blocklist", headers=h["platform"]).status_code == 403
    assert client.get("/api/v1/blocklist").status_code == 401

    locations.set_state(loc, "removed")
    delta = client.get(f"/api/v1/blocklist/delta?since={serial}", headers=h["isp-one"]).json()
    assert [(c["op"], c["target"], c["why"]) for c in delta["changes"]] == [
        ("remove", "http://img.hosting-a.test/a/1.jpg", "removed")
    ]
    ixfr = client.get(f"/api/v1/blocklist/delta?since={serial}&format=rpz", headers=h["isp-one"])
    assert ixfr.status_code == 200
    fetched = [
        r
        for r in runtime.auth.audit_log.list_records(limit=1000)
        if r.action.startswith("blocklist.")
    ]
    assert {r.action for r in fetched} >= {"blocklist.fetch", "blocklist.delta"}
    assert all(r.organisation == "isp-one" for r in fetched if r.outcome == "ok")


def test_each_licensee_has_its_own_keyed_feed(world) -> None:
    client, runtime, locations, h = world
    locations.add("http://img.hosting-a.test/a/2.jpg", runtime.clock.now())
    feeds, keys = {}, {}
    for who in ("isp-one", "isp-two"):
        feeds[who] = client.get("/api/v1/blocklist/feed", headers=h[who]).json()
        keys[who] = base64.b64decode(
            client.get("/api/v1/blocklist/feed/key", headers=h[who]).json()["key"]
        )
    assert feeds["isp-one"]["prefixes"] != feeds["isp-two"]["prefixes"]
    assert keys["isp-one"] != keys["isp-two"]

    def ask(prefix: bytes) -> list[bytes]:
        got = client.get(
            f"/api/v1/blocklist/feed/full-hashes?prefix={prefix.hex()}", headers=h["isp-one"]
        )
        return [bytes.fromhex(x) for x in got.json()["full_hashes"]]

    one = FeedClient(keys["isp-one"], feeds["isp-one"], ask)
    assert one.is_listed("http://img.hosting-a.test/a/2.jpg")
    assert one.is_listed("http://www.canary.hotline.test/anything")
    assert not one.is_listed("http://img.hosting-a.test/a/3.jpg")
    # isp-two's key against isp-one's feed: nothing
    wrong = FeedClient(keys["isp-two"], feeds["isp-one"], ask)
    assert not wrong.is_listed("http://img.hosting-a.test/a/2.jpg")
    actions = [r.action for r in runtime.auth.audit_log.list_records(limit=1000)]
    assert "blocklist.full_hashes" in actions
    assert "blocklist.feed_key" in actions


def test_domains_and_appeals_through_the_api_and_the_splash_page(world) -> None:
    client, runtime, _locations, h = world
    assert (
        client.post(
            "/api/v1/blocklist/domains",
            json={"domain": "x.test", "reason": "why"},
            headers=h["isp-one"],
        ).status_code
        == 403
    )
    made = client.post(
        "/api/v1/blocklist/domains",
        json={"domain": "dedicated.test", "reason": "a site made for it"},
        headers=h["analyst"],
    )
    assert made.status_code == 201
    rpz = client.get("/api/v1/blocklist?format=rpz", headers=h["isp-one"]).text
    assert "*.dedicated.test 300 IN CNAME ." in rpz

    splash = client.get("/web/blocked?url=http%3A//dedicated.test/page")
    assert splash.status_code == 200
    assert "This page is blocked" in splash.text
    assert "/web/blocked/appeal?url=http%3A//dedicated.test/page" in splash.text
    form = client.get("/web/blocked/appeal?url=dedicated.test")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    sent = client.post(
        "/web/blocked/appeal",
        data={
            "url": "dedicated.test",
            "reason": "my own shop",
            "contact": "o@d.test",
            "csrf_token": token,
        },
    )
    assert sent.status_code == 200
    assert "A-1" in sent.text
    appeals = client.get("/api/v1/blocklist/appeals", headers=h["analyst"]).json()["appeals"]
    assert [(a["id"], a["state"]) for a in appeals] == [(1, "open")]
    decided = client.post(
        "/api/v1/blocklist/appeals/1/decision",
        json={"upheld": True, "note": "misjudged"},
        headers=h["analyst"],
    )
    assert decided.json()["state"] == "upheld"
    rpz = client.get("/api/v1/blocklist?format=rpz", headers=h["isp-one"]).text
    assert "dedicated.test" not in rpz
    actions = {r.action for r in runtime.auth.audit_log.list_records(limit=1000)}
    assert {"blocklist.domain_list", "blocklist.appeal_decide"} <= actions
