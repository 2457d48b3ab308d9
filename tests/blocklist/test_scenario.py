"""From a confirmed location to its removal, through the programs an ISP runs.

Known material (a benign stand-in whose hash is in a trusted bank) is confirmed at
``http://img.hosting-a.test/a/1.jpg`` on a loopback site; the notice pass sends the notice;
keepdown's list then holds the URL, so Debian's unbound (loaded with the RPZ zone) steers the
host to the ISP's filtering proxy and Debian's squid (loaded with the ACL files) answers the
URL with keepdown's splash page, while another file on the same host passes. The host removes
the file; the workers' re-check pass a day later confirms the removal and the list's next
serial drops the URL at once;
and after the ISP reloads both programs the host resolves normally and the URL passes.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from keepdown.app import build_app, open_notice_services
from keepdown.app.workers import WorkerJobs
from keepdown.clock import FrozenClock
from keepdown.crawl.transport import StaticResolver
from keepdown.events import BlocklistEntryAdded, BlocklistEntryRemoved, RemovalConfirmed
from keepdown.notices.providers import Provider
from keepdown.settings import load_settings
from tests.notices.conftest import (  # noqa: F401 - fixtures
    T0,
    add_sighting,
    known_image,
    notice_settings,
    seed_bank,
    sites,
    smtp,
)

from .services import Served, eventually, squid, unbound

HOST = "img.hosting-a.test"
RESOLVER = StaticResolver({HOST: ["127.0.0.1"]})
RECORDS = {HOST: "127.0.0.1", "filter.isp.test": "127.0.0.2"}


def test_confirmed_blocked_removed_unblocked(tmp_path: Path, sites, smtp) -> None:  # noqa: F811
    site, _other = sites
    base = load_settings(environ={}, overrides={"data_dir": str(tmp_path / "data")})
    settings = notice_settings(
        base,
        smtp_port=smtp.port,
        blocklist_refresh_seconds=0,
        blocklist_canary_host="blocklist-canary.hotline.test",
        blocklist_rpz_proxy_host="filter.isp.test",
        web_cookie_secure=False,
    )
    clock = FrozenClock(T0)
    entries = seed_bank(settings, clock)
    notices = open_notice_services(settings, clock=clock, resolver=RESOLVER)
    app, web_runtime = build_app(
        settings, clock=clock, resolver=RESOLVER, refresh_in_background=False
    )
    runtime = notices.runtime
    desk = runtime.blocklist
    try:
        provider = notices.providers.add(
            Provider(
                name="Hosting A",
                ip_ranges=("127.0.0.1/32",),
                abuse_contacts=("abuse@hosting-a.test",),
            ),
            clock.now(),
        )
        site.put("/a/1.jpg", known_image(0))
        site.put("/a/2.jpg", b"another, unrelated file")
        media_url = site.url("/a/1.jpg", HOST)
        add_sighting(
            runtime.storage.engine,
            runtime.storage.events,
            media_url=media_url,
            image=known_image(0),
            entries=entries,
            seen_at=clock.now(),
            provider_id=provider.id,
        )
        asyncio.run(notices.service.send_due())
        assert len(smtp.messages) == 1  # the location is confirmed and its notice sent

        listed = desk.refresh()
        assert "http://img.hosting-a.test/a/1.jpg" in {e.target for e in listed.entries}
        with Served(app) as served:
            desk.splash_url = f"http://127.0.0.1:{served.port}/web/blocked"
            files = (desk.render("squid-domains").text, desk.render("squid-urls").text)
            with (
                unbound(desk.rpz.origin, desk.render("rpz").text, RECORDS) as resolver,
                squid(RECORDS, desk.squid_config("{dir}"), *files) as proxy,
            ):
                # blocked: the resolver steers the host to the filter, the filter blocks the URL
                assert resolver.answer(HOST) == (
                    "NOERROR",
                    ["CNAME filter.isp.test.", "A 127.0.0.2"],
                )
                blocked = proxy.get(media_url)
                assert "This page is blocked" in blocked.text
                assert proxy.get(site.url("/a/2.jpg", HOST)).text == "another, unrelated file"

                # the host removes it; the workers' re-check pass a day later confirms the
                # removal and takes it off the list at once (no fetch needed)
                site.answer("/a/1.jpg", 404)
                clock.advance(timedelta(hours=25))
                WorkerJobs(runtime).recheck_pass()
                assert [e.kind for e in runtime.storage.events.read(RemovalConfirmed.kind)]

                unlisted = desk.service.snapshot()
                assert unlisted.serial == listed.serial + 1
                assert "http://img.hosting-a.test/a/1.jpg" not in {
                    e.target for e in unlisted.entries
                }
                # the ISP's cron: fetch the forms again, reload the resolver and the proxy
                resolver.reload(desk.render("rpz").text)
                proxy.write(desk.render("squid-domains").text, desk.render("squid-urls").text)
                proxy.reconfigure()
                assert eventually(
                    lambda: resolver.answer(HOST) == ("NOERROR", ["A 127.0.0.1"]),
                    "the host resolving normally",
                )
                passed = eventually(
                    lambda: (r := proxy.get(media_url)).status_code == 404 and r,
                    "the removed URL passing the proxy (the host answers 404)",
                )
                assert "This page is blocked" not in passed.text
        kinds = [e.kind for e in runtime.storage.events.read()]
        assert BlocklistEntryAdded.kind in kinds
        assert BlocklistEntryRemoved.kind in kinds
    finally:
        web_runtime.close()
        notices.close()
