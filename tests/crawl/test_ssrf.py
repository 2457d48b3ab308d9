"""The SSRF guard: addresses refused by default, explicit allowances, every redirect hop."""

from __future__ import annotations

import asyncio

import pytest

from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.ssrf import AddressGuard
from keepdown.crawl.transport import GuardedBackend, StaticResolver
from keepdown.errors import BlockedAddress, ConfigurationError, FetchError

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "169.254.169.254",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.2.1",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",
    "2002:7f00:1::1",
    "2002:a00:1::",
    "[::1]",
    "fe80::1%eth0",
    "not-an-ip",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused_by_default(address):
    guard = AddressGuard()
    assert not guard.is_allowed(address)
    with pytest.raises(BlockedAddress):
        guard.check(address)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert AddressGuard().is_allowed(address)


def test_allowed_networks_open_only_what_they_list():
    guard = AddressGuard(["127.0.0.0/8", "::1/128"])
    assert guard.is_allowed("127.0.0.1")
    assert guard.is_allowed("127.3.2.1")
    assert guard.is_allowed("::1")
    assert guard.is_allowed("::ffff:127.0.0.1")
    assert not guard.is_allowed("10.0.0.1")
    assert not guard.is_allowed("169.254.169.254")
    narrow = AddressGuard(["127.0.0.1/32"])
    assert narrow.is_allowed("127.0.0.1")
    assert not narrow.is_allowed("127.0.0.2")
    assert not narrow.is_allowed("::1")


def test_allowing_an_ipv6_prefix_does_not_open_the_ipv4_behind_it():
    guard = AddressGuard(["::ffff:0:0/96"])
    assert not guard.is_allowed("::ffff:127.0.0.1")


def test_a_bad_allowed_network_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="crawl_allowed_networks"):
        AddressGuard(["127.0.0.0/33"])


def _fetch(settings, url, resolver=None, **kw):
    async def go():
        async with Fetcher(settings, resolver=resolver, **kw) as fetcher:
            return await fetcher.fetch(url, max_bytes=100_000)

    return asyncio.run(go())


def test_loopback_is_refused_without_an_allowance(site, settings):
    site.reset_log()
    with pytest.raises(BlockedAddress) as caught:
        _fetch(settings, site.url("/index.html"))
    assert caught.value.details["address"] == "127.0.0.1"
    assert site.requests == []  # refused before any connection


def test_a_name_resolving_to_loopback_is_refused_after_resolution(site, settings, resolver):
    site.reset_log()
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1.*resolved from site\.test"):
        _fetch(settings, site.url("/index.html", host="site.test"), resolver=resolver)
    assert resolver.lookups == ["site.test"]
    assert site.requests == []


def test_loopback_is_reached_when_allowed(site, crawl_settings):
    result = _fetch(crawl_settings, site.url("/index.html"))
    assert result.status == 200
    assert result.server_ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "address"),
    [("/go/private", "10.0.0.1"), ("/go/loopback2", "127.0.0.2"), ("/go/ipv6", "::1")],
)
def test_a_redirect_from_an_allowed_address_to_a_refused_one_is_refused(
    site, crawl_settings, path, address
):
    """127.0.0.1/32 is allowed; its redirect to another address is refused before connecting."""
    site.reset_log()
    with pytest.raises(BlockedAddress) as caught:
        _fetch(crawl_settings, site.url(path))
    assert caught.value.details["address"] == address
    assert [p for _, p in site.requests] == [path]  # nothing after the redirecting hop


def test_dns_rebinding_cannot_switch_the_address_after_the_check(site):
    """Every connection resolves once, vets the answer and connects to that number: a name
    that resolves to an allowed address first and a private one next is refused the second
    time, and the first connection really went to the vetted address."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])

    class Rebinding(StaticResolver):
        async def resolve(self, host, port):
            self.lookups.append(host)
            return next(answers)

    rebinding = Rebinding({})
    backend = GuardedBackend(AddressGuard(["127.0.0.1/32"]), rebinding)

    async def go():
        stream = await backend.connect_tcp("rebind.test", site.port, timeout=2)
        peer = stream.get_extra_info("server_addr")
        await stream.aclose()
        with pytest.raises(BlockedAddress, match=r"10\.0\.0\.1"):
            await backend.connect_tcp("rebind.test", site.port, timeout=2)
        return peer

    assert asyncio.run(go())[0] == "127.0.0.1"
    assert rebinding.lookups == ["rebind.test", "rebind.test"]


def test_environment_proxies_are_ignored(site, crawl_settings, monkeypatch):
    """A proxy would connect on our behalf, past the guard: the fetcher never uses one."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    assert _fetch(crawl_settings, site.url("/index.html")).status == 200


def test_non_http_schemes_are_refused(crawl_settings):
    from keepdown.errors import InvalidInput

    for url in ("file:///etc/passwd", "gopher://127.0.0.1/", "ftp://example.org/"):
        with pytest.raises(InvalidInput):
            _fetch(crawl_settings, url)


@pytest.fixture(scope="module")
def ipv6_site():
    """A one-page server on [::1] (skipped where the host has no IPv6 loopback)."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><p>six</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    try:
        server = Server6(("::1", 0), Handler)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://[::1]:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_ipv6_loopback_only_when_allowed(ipv6_site, settings):
    allowed = settings.replace(crawl_allowed_networks="127.0.0.0/8,::1")
    result = _fetch(allowed, ipv6_site)
    assert result.status == 200
    assert result.server_ip == "::1"
    with pytest.raises(BlockedAddress):
        _fetch(settings.replace(crawl_allowed_networks="127.0.0.0/8"), ipv6_site)


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "localhost"])
def test_odd_spellings_of_loopback_are_refused_after_resolution(site, settings, host):
    """Names the system resolver turns into 127.0.0.1 are judged by that address."""
    site.reset_log()
    with pytest.raises(BlockedAddress):
        _fetch(settings, f"http://{host}:{site.port}/index.html")
    assert site.requests == []


def test_an_address_httpx_cannot_parse_is_invalid_input(settings):
    from keepdown.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not a fetchable URL"):
        _fetch(settings, "http://0177.0.0.1/index.html")


def test_a_resolver_that_hangs_is_a_timeout_not_a_crash(settings):
    class Hanging(StaticResolver):
        async def resolve(self, host, port):
            self.lookups.append(host)
            await asyncio.sleep(10)
            return ["127.0.0.1"]

    hanging = Hanging({})
    quick = settings.replace(crawl_timeout_seconds=0.05, crawl_max_retries=1)
    with pytest.raises(FetchError, match="timed out"):
        _fetch(quick, "http://slow-dns.test/", resolver=hanging)
    assert hanging.lookups == ["slow-dns.test", "slow-dns.test"]  # retried once
