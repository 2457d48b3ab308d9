"""The public transparency page and the analysts' indicators page, in the web app; and in a
real browser (Debian's chromium): the report's own stylesheet applies under its CSP, nothing
is blocked, nothing is loaded from anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keepdown.auth import Role
from keepdown.clock import utc
from keepdown.web.pages.transparency import REPORT_CSP, last_quarter
from tests.web.conftest import Web, web  # noqa: F401  (fixture)

from .scenario import PLANTED_URLS, A, history


@pytest.fixture
def seeded(web):  # noqa: F811
    for event in history():
        web.services.storage.events.emit(event)
    return web


def test_public_report_page(seeded: Web):
    page = seeded.client.get("/web/transparency?period=2026-Q3")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == REPORT_CSP
    assert "script-src" not in REPORT_CSP
    assert A in page.text
    assert "<svg" in page.text
    for url in PLANTED_URLS:
        assert url not in page.text
    assert seeded.client.get("/web/transparency?period=nope").status_code == 400


def test_last_quarter():
    assert last_quarter(utc(2026, 8, 15)) == "2026-Q2"
    assert last_quarter(utc(2026, 2, 1)) == "2025-Q4"
    assert last_quarter(utc(2026, 12, 31)) == "2026-Q3"


def test_indicators_page_is_for_staff(seeded: Web):
    assert seeded.client.get("/web/indicators", follow_redirects=False).status_code == 303
    seeded.sign_in_as(Role.PROVIDER)
    assert seeded.client.get("/web/indicators").status_code == 403
    seeded.sign_in_as(Role.ANALYST)
    page = seeded.client.get("/web/indicators?all=true")
    assert page.status_code == 200
    assert "Payment indicators" in page.text
    bundle = seeded.client.get("/web/indicators/export?format=stix")
    assert bundle.status_code == 200
    assert bundle.json()["type"] == "bundle"


@pytest.mark.slow
def test_the_report_renders_in_a_browser_under_its_csp(tmp_path):
    from tests.web.test_browser import ARGS, CHROMIUM, Served

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    from keepdown.app import build_app
    from tests.web.conftest import web_settings

    app, services = build_app(web_settings(tmp_path), refresh_in_background=False)
    for event in history():
        services.storage.events.emit(event)
    with Served(app) as base, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{base}/web/transparency?period=2026-Q3")
        width = page.evaluate("getComputedStyle(document.body).maxWidth")
        collapse = page.evaluate("getComputedStyle(document.querySelector('table')).borderCollapse")
        bars = page.locator("svg rect").count()
        browser.close()
    assert problems == []  # no CSP violation reported
    assert width == "1152px"  # 72rem: the report's own stylesheet applied
    assert collapse == "collapse"
    assert bars > 5
    assert requests == [f"{base}/web/transparency?period=2026-Q3"]  # nothing else loaded


def _cells(html: str, key: str) -> dict[str, str]:
    """The figures row of one provider key (or "" for the totals) on the figures page."""
    row = re.search(rf'<tr data-provider="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert row, key
    return dict(re.findall(r'<td class="([\w-]+)">([^<]*)</td>', row.group(1)))


def test_figures_page_shows_the_report_figures(seeded: Web):
    """The web figures page of a period says what the transparency report of that period
    says; without a period, everything to now; a bad period is refused clearly."""
    seeded.clock.set(utc(2026, 10, 5))
    seeded.sign_in_as(Role.REGULATOR)
    page = seeded.client.get("/web/figures?period=2026-Q3")
    assert page.status_code == 200
    a, b, total = _cells(page.text, A), _cells(page.text, "Hébergeur B"), _cells(page.text, "")
    assert (a["notified"], a["removed"], a["present"], a["median"], a["p90"]) == (
        "3",
        "3",
        "1",
        "24.0 h",
        "240.0 h",
    )
    assert (b["notified"], b["withdrawn"], b["present"]) == ("1", "1", "0")  # L5 withdrawn
    assert (total["notified"], total["removed"], total["present"]) == ("5", "4", "2")
    assert seeded.client.get("/web/figures?period=2026-Q9").status_code == 400
    everything = seeded.client.get("/web/figures")
    assert _cells(everything.text, "")["removed"] == "5"
