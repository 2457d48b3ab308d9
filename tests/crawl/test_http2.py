"""HTTP/2 over TLS through the guarded transport: ALPN, certificate checked by name, peer IP."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import StaticResolver
from keepdown.errors import BlockedAddress, FetchError
from keepdown.testing import synthetic_jpeg

from .h2site import H2Site, make_certificate


@pytest.fixture(scope="module")
def h2site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key, pem = make_certificate(folder)
    routes = {
        "/index.html": (200, "text/html", b"<!doctype html><p>over h2</p>"),
        "/pic.jpg": (200, "image/jpeg", synthetic_jpeg(3, 64, 48)),
    }
    server = H2Site(routes, cert, key).start()
    server.client_context = ssl.create_default_context(cadata=pem.decode())
    yield server
    server.stop()


def _fetch(settings, server, url, resolver):
    async def go():
        fetcher = Fetcher(settings, resolver=resolver, ssl_context=server.client_context)
        async with fetcher:
            return [
                await fetcher.fetch(url, max_bytes=10**6),
                await fetcher.fetch(url.replace("index.html", "pic.jpg"), max_bytes=10**6),
            ]

    return asyncio.run(go())


def test_fetches_over_http2_with_the_peer_ip(h2site, crawl_settings, resolver):
    url = f"https://site.test:{h2site.port}/index.html"
    page, picture = _fetch(crawl_settings, h2site, url, resolver)
    assert page.http_version == picture.http_version == "HTTP/2"
    assert page.server_ip == picture.server_ip == "127.0.0.1"
    assert page.content_type == "text/html"
    assert picture.content_type == "image/jpeg"
    assert h2site.protocols[-1] == "h2"


def test_the_certificate_is_checked_against_the_name_not_the_address(h2site, crawl_settings):
    resolver = StaticResolver({"wrong.test": ["127.0.0.1"]})
    with pytest.raises(FetchError, match="failed"):
        _fetch(
            crawl_settings.replace(crawl_max_retries=0),
            h2site,
            f"https://wrong.test:{h2site.port}/index.html",
            resolver,
        )


def test_https_to_a_refused_address_never_connects(h2site, settings, resolver):
    with pytest.raises(BlockedAddress):
        _fetch(settings, h2site, f"https://site.test:{h2site.port}/index.html", resolver)
