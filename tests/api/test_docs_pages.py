"""/docs works without internet: every asset comes from this server (issue 15).

FastAPI's own pages load Swagger UI from a CDN, so /docs was blank offline. The page, its
assets and the start-up script are all served by keepdown from the installed package.
"""

from __future__ import annotations

import re

import pytest

from keepdown.api.docs_pages import ASSETS


def test_the_page_names_only_this_servers_urls(api):
    answer = api.client.get("/docs")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert urls, answer.text
    assert all(u.startswith("/docs/assets/") for u in urls), urls
    assert "<script>" not in answer.text  # no inline script: works under script-src 'self'
    assert 'data-openapi="/openapi.json"' in answer.text
    for url in urls:
        asset = api.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
        name = url.rsplit("/", 1)[-1]
        assert asset.headers["content-type"].startswith(ASSETS[name][1])


def test_the_swagger_bundle_is_the_real_thing(api):
    bundle = api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content
    assert len(bundle.content) > 500_000
    # ReDoc is not served: its bundle always loads its maker's logo from their CDN.
    assert api.client.get("/redoc").status_code == 404


@pytest.mark.parametrize(
    "name", ["missing.js", "..%2F..%2Fpyproject.toml", "..%2Fdocs_pages.py", "%2Fetc%2Fpasswd"]
)
def test_only_the_listed_assets_are_served(api, name):
    answer = api.client.get(f"/docs/assets/{name}")
    assert answer.status_code == 404


def test_the_pages_are_not_in_the_openapi_document(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]
