"""The published forms in the real programs ISPs run: Debian's unbound loads the RPZ zone and
answers on 127.0.0.1 (asked with dnspython), Debian's squid loads the ACL files and sends a
listed URL to keepdown's splash page while an unlisted one reaches a loopback origin.

Both are started by the tests on loopback; without them the tests skip, unless
KEEPDOWN_REQUIRE_BLOCKLIST_SERVICES is set (CI), which fails them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keepdown.app import build_app
from keepdown.blocklist.render import RpzPolicy, rpz_zone
from tests.api.conftest import make_settings

from .conftest import Locations
from .services import Served, eventually, origin, squid, unbound

LOCAL = {
    "dedicated.test": "127.0.0.1",
    "www.dedicated.test": "127.0.0.1",
    "img.hosting-a.test": "127.0.0.1",
    "unlisted.test": "127.0.0.1",
    "blocklist-canary.hotline.test": "127.0.0.1",
    "filter.isp.test": "127.0.0.2",
    "splash.isp.test": "127.0.0.3",
}


@pytest.fixture
def hotline(tmp_path: Path):
    settings = make_settings(
        tmp_path,
        blocklist_refresh_seconds=0,
        blocklist_canary_host="blocklist-canary.hotline.test",
        blocklist_rpz_proxy_host="filter.isp.test",
        web_cookie_secure=False,
    )
    app, runtime = build_app(settings, refresh_in_background=False)
    locations = Locations(runtime.storage.engine, runtime.clock.now())
    yield app, runtime, locations
    runtime.close()


def test_unbound_answers_listed_names_from_the_rpz_zone(hotline) -> None:
    _app, runtime, locations = hotline
    desk = runtime.blocklist
    locations.add("http://img.hosting-a.test/a/1.jpg", runtime.clock.now())
    desk.service.list_domain("dedicated.test", analyst="ana", reason="made for it")
    zone = desk.render("rpz").text
    with unbound(desk.rpz.origin, zone, LOCAL) as resolver:
        assert resolver.answer("unlisted.test") == ("NOERROR", ["A 127.0.0.1"])
        assert resolver.answer("dedicated.test")[0] == "NXDOMAIN"
        assert resolver.answer("www.dedicated.test")[0] == "NXDOMAIN"
        assert resolver.answer("blocklist-canary.hotline.test")[0] == "NXDOMAIN"
        # a host with a listed URL is steered to the filtering proxy, not blocked
        assert resolver.answer("img.hosting-a.test") == (
            "NOERROR",
            ["CNAME filter.isp.test.", "A 127.0.0.2"],
        )
        # the operator's other choice: a CNAME to its splash host (the zone reloaded)
        splash = RpzPolicy(zone=desk.rpz.zone, splash_host="splash.isp.test")
        resolver.reload(rpz_zone(desk.fresh(), splash))
        answered = eventually(
            lambda: (
                resolver.answer("dedicated.test")[0] == "NOERROR"
                and resolver.answer("dedicated.test")
            ),
            "the splash policy after the reload",
        )
        assert answered == ("NOERROR", ["CNAME splash.isp.test.", "A 127.0.0.3"])


def test_squid_sends_listed_urls_to_the_splash_page_and_passes_the_rest(hotline) -> None:
    app, runtime, locations = hotline
    desk = runtime.blocklist
    locations.add("http://img.hosting-a.test/a/1.jpg", runtime.clock.now())
    desk.service.list_domain("dedicated.test", analyst="ana", reason="made for it")
    with Served(app) as served, origin() as port:
        desk.splash_url = f"http://127.0.0.1:{served.port}/web/blocked"
        acl = desk.squid_config("{dir}")
        domains, urls = desk.render("squid-domains").text, desk.render("squid-urls").text
        with squid(LOCAL, acl, domains, urls) as proxy:
            blocked = proxy.get(f"http://img.hosting-a.test:{port}/a/1.jpg")
            assert blocked.status_code == 200
            assert "This page is blocked" in blocked.text
            assert str(blocked.url).startswith(f"http://127.0.0.1:{served.port}/web/blocked")
            assert "Ask for a review of this block" in blocked.text
            assert "This page is blocked" in proxy.get(f"http://www.dedicated.test:{port}/x").text
            canary = proxy.get(f"http://blocklist-canary.hotline.test:{port}/keepdown-canary")
            assert "This page is blocked" in canary.text
            passed = proxy.get(f"http://img.hosting-a.test:{port}/a/2.jpg")
            assert passed.text == "origin content at /a/2.jpg\n"
            assert proxy.get(f"http://unlisted.test:{port}/").text == "origin content at /\n"
