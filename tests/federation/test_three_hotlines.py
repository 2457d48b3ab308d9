"""Done means (issue 18): three keepdown hotlines on loopback refer a sighting across a border
and the removal clock runs across it.

- A (PostgreSQL, covers NL), B (SQLite, covers BE), C (SQLite, covers FR), each served on its
  own loopback port with its own data dir; every instance's provider registry places the
  loopback "web" hosts in three countries: 127.0.0.1 NL, 127.0.0.2 BE, 127.0.0.3 FR.
- A reports a page hosted in BE; A's crawler confirms the (benign stand-in) known picture; a
  referral goes to B (not C: C covers FR); B crawls and confirms itself; B's notice goes to
  its provider over real SMTP on loopback; the provider removes the picture; B's re-check
  confirms the removal; A receives every status callback in order, and A's transparency
  report shows the cross-border time to removal.
- B's sending worker is "killed" twice: once after claiming a callback and before sending it,
  once after sending and before settling; nothing is lost and nothing is duplicated.
- A replayed referral is refused by B and audited.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from keepdown.app import Runtime, build_app
from keepdown.auth import Role
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import FrozenClock
from keepdown.crawl.transport import StaticResolver
from keepdown.federation.peers import PeerSpec
from keepdown.notices.providers import Provider
from keepdown.settings import load_settings
from tests.federation.loopback import served
from tests.notices.conftest import (  # noqa: F401  (fixtures)
    T0,
    Mailbox,
    known_image,
    notice_settings,
    seed_bank,
    smtp,
    start_site,
)

H = timedelta(hours=1)
HOST_BE = "img.hosting-be.test"
RESOLVER = StaticResolver({HOST_BE: ["127.0.0.2"]})
PROVIDERS = (
    ("Host NL", "127.0.0.1", "NL"),
    ("Host BE", "127.0.0.2", "BE"),
    ("Host FR", "127.0.0.3", "FR"),
)
COUNTRIES = {"hotline-a": "NL", "hotline-b": "BE", "hotline-c": "FR"}


def _settings(tmp: Path, name: str, database_url: str, smtp_port: int):
    base = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp / name),
            "database_url": database_url,
            "operator_organisation": name,
            "federation_name": name,
            "federation_countries": COUNTRIES[name],
            "auth_cache_seconds": 0,
        },
    )
    return notice_settings(base, smtp_port=smtp_port)


class World:
    def __init__(self, clock: FrozenClock, mailbox: Mailbox) -> None:
        self.clock = clock
        self.mailbox = mailbox
        self.hotlines: dict[str, Runtime] = {}
        self.urls: dict[str, str] = {}

    def __getitem__(self, name: str) -> Runtime:
        return self.hotlines[name]

    def crawl(self, name: str) -> None:
        run_worker(self[name].crawling, once=True, out=io.StringIO())

    def tick(self, name: str) -> None:
        notices = self[name].notices
        asyncio.run(notices.tracker.recheck_due())
        asyncio.run(notices.service.send_due())

    def exchange(self) -> None:
        """Every hotline sends what it owes (statuses follow from its events first)."""
        for runtime in self.hotlines.values():
            runtime.federation.referrals.follow()
        for runtime in self.hotlines.values():
            runtime.federation.referrals.send_due()


@pytest.fixture
def world(
    tmp_path: Path,
    postgres_url: str,
    smtp: Mailbox,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[World, object]]:
    clock = FrozenClock(T0)
    world = World(clock, smtp)
    site, server = start_site("127.0.0.2")
    urls = {
        "hotline-a": postgres_url,
        "hotline-b": f"sqlite:///{tmp_path}/b.sqlite3",
        "hotline-c": f"sqlite:///{tmp_path}/c.sqlite3",
    }
    stack = []
    try:
        for name, db in urls.items():
            settings = _settings(tmp_path, name, db, smtp.port)
            seed_bank(settings, clock)
            app, runtime = build_app(
                settings, clock=clock, resolver=RESOLVER, refresh_in_background=False
            )
            world.hotlines[name] = runtime
            cm = served(app)
            world.urls[name] = cm.__enter__()
            stack.append(cm)
            for provider, ip, country in PROVIDERS:
                runtime.notices.providers.add(
                    Provider(
                        name=provider,
                        ip_ranges=(f"{ip}/32",),
                        abuse_contacts=(f"abuse@{country.lower()}.test",),
                        country=country,
                    ),
                    clock.now(),
                )
        # every pair peers: keys issued both ways, public keys exchanged
        for me, mine in world.hotlines.items():
            for other, theirs in world.hotlines.items():
                if me == other:
                    continue
                mine.auth.ensure_organisation(other)
                token = mine.auth.issue_key(other, Role.PEER).token
                env = f"KD_{other[-1].upper()}_AT_{me[-1].upper()}"
                monkeypatch.setenv(env, token)
                theirs.federation.add_peer(
                    PeerSpec(me, [COUNTRIES[me]], world.urls[me], mine.federation.key().public, env)
                )
        yield world, site
    finally:
        for cm in reversed(stack):
            cm.__exit__(None, None, None)
        for runtime in world.hotlines.values():
            runtime.close()
        server.shutdown()
        server.server_close()


def test_a_referral_crosses_the_border_and_the_removal_clock_follows(world) -> None:
    w, site = world
    a, b, c = w["hotline-a"], w["hotline-b"], w["hotline-c"]
    site.put("/gallery.html", b'<html><body><img src="/m/k0.jpg"></body></html>', "text/html")
    site.put("/m/k0.jpg", known_image(0))
    page = f"http://{HOST_BE}:{site.port}/gallery.html"

    # A: a report of a page hosted in BE; A's crawler confirms the known picture
    a.crawling.reports.intake(page, reporter_type="public", now=w.clock.now())
    w.crawl("hotline-a")
    assert a.federation.referrals.plan() == 1
    assert a.federation.referrals.plan() == 0  # planned once
    w.exchange()
    (sent,) = a.federation.referrals.referrals("out")
    assert (sent.peer, sent.country, sent.state) == ("hotline-b", "BE", "received")
    assert c.federation.referrals.referrals() == []  # C covers FR, not BE

    # B: the referral became a reported URL; the media was already known to B's banks
    (got,) = b.federation.referrals.referrals("in")
    assert got.body["known"] == [sent.body["items"][0]["url"]]
    report = b.crawling.reports.get(got.local_ref)
    assert report.reporter_type == "hotline"
    assert report.reporter == "peer:hotline-a"

    # a replayed referral is refused by B and audited there
    (envelope,) = [m["envelope"] for m in a.federation.referrals.store.outbox()]
    token = {"Authorization": "Bearer " + os.environ["KD_A_AT_B"]}
    again = httpx.post(
        f"{w.urls['hotline-b']}/api/v1/federation/messages", json=envelope, headers=token
    )
    assert again.status_code == 400
    assert again.json()["details"]["reason"] == "replayed"
    refused = b.auth.audit_log.list_records(action="federation.message.refused")
    assert [r.details["reason"] for r in refused] == ["replayed"]

    # B crawls and confirms itself; B notices its provider over SMTP
    w.clock.set(T0 + 1 * H)
    w.crawl("hotline-b")
    w.tick("hotline-b")
    assert [m["To"] for m in w.mailbox.messages] == ["abuse@be.test"]

    # B's sending worker is killed after claiming a callback, before sending it
    desk = b.federation.referrals
    store = desk.store
    assert desk.follow() == 2  # confirmed, notice_sent
    lease = timedelta(seconds=desk.lease_seconds)
    assert store.claim(w.clock.now(), "killed-1", w.clock.now() + lease) is not None
    assert desk.send_due("worker-2") == 0  # nothing else may overtake it in its stream
    w.clock.set(T0 + 2 * H)  # its lease expired: the next worker takes it over
    assert desk.send_due("worker-2") == 2

    # the provider removes; B's re-check confirms it; the worker sending "removed" is killed
    # after the peer accepted it and before it recorded so
    site.answer("/m/k0.jpg", 404)
    killed = False
    for hour in (8, 30, 60, 90):
        w.clock.set(T0 + hour * H)
        w.tick("hotline-b")
        if not killed and desk.follow():
            message = store.claim(w.clock.now(), "killed-2", w.clock.now() + lease)
            assert message is not None
            peer_a = next(p for p in b.federation.peers() if p.name == "hotline-a")
            assert desk._post(peer_a, message.envelope) == ("", False)
            killed = True
            w.clock.set(w.clock.now() + 2 * lease)
        w.exchange()
    assert killed

    statuses = [s for s, _, _ in a.federation.referrals.referrals("out")[0].timeline]
    assert statuses == ["received", "confirmed", "notice_sent", "removed"]
    sent_by_b = store.outbox()
    assert [(m["stream"], m["seq"], m["state"]) for m in sent_by_b] == [
        ("status", n, "sent") for n in range(1, 5)
    ]
    # A took each callback once: one event per status, the resent "removed" refused there
    events = list(a.storage.events.read("peer_referral_status"))
    assert [e.status for e in events] == ["received", "confirmed", "notice_sent", "removed"]
    replays = a.auth.audit_log.list_records(action="federation.message.refused")
    assert [r.details["reason"] for r in replays] == ["replayed"]

    report = a.accountability.transparency("2026-03").to_dict()
    (row,) = report["cross_border"]["peers"]
    assert row["peer"] == "hotline-b"
    assert row["sent"] == 1
    assert row["removed"] == 1
    assert row["removal_median_hours"] is not None
    assert row["removal_median_hours"] > 0

    # the workers' periodic pass does the same steps: nothing is left to plan or send
    from keepdown.app.workers import WorkerJobs

    before = [m["id"] for m in a.federation.referrals.store.outbox()]
    WorkerJobs(a).federation_pass()
    assert [m["id"] for m in a.federation.referrals.store.outbox()] == before
