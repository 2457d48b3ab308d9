"""/docs in a real browser with every request off this machine refused: Swagger UI draws the
API's operations from assets keepdown serves itself (issue 15: it was blank offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.test_browser import ARGS, CHROMIUM, Served

pytestmark = pytest.mark.slow


def test_swagger_ui_renders_with_no_internet(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from keepdown.app import build_app
    from tests.web.conftest import web_settings

    app, _services = build_app(web_settings(tmp_path), refresh_in_background=False)
    refused: list[str] = []
    with Served(app) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()

            def only_loopback(route, request):
                if request.url.startswith(base):
                    route.continue_()
                else:
                    refused.append(request.url)
                    route.abort()

            page.route("**/*", only_loopback)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            assert page.locator(".opblock").count() > 20
            assert "keepdown API" in page.locator(".info .title").inner_text()
        finally:
            browser.close()
    assert refused == []
