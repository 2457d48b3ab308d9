"""Sightings and reported URLs read the same in every view (issue 15, crawl outcomes).

``/web/sightings``, ``GET /api/v1/sightings`` (JSON and CSV) and ``keepdown sightings list``
take the same filters and list the same sightings in the same order; the web's reported-URL
page shows a report's outcome and each of its crawl's URLs with state, attempts and failure,
as ``GET /api/v1/reports/{reference}`` does.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from keepdown.auth import Role
from keepdown.cli import cli
from keepdown.cli.crawl_cmd import run_worker
from keepdown.review.listing import SIGHTING_COLUMNS
from keepdown.storage.tables_crawl import sightings
from tests.web.conftest import Web
from tests.web.seed import PROVIDER, image_site, seed


@pytest.fixture
def seeded(web: Web):
    with image_site() as site:
        yield seed(web.services, web.ctx, site)


def _key(web: Web, role: Role = Role.ANALYST) -> dict[str, str]:
    issued = web.services.auth.issue_key("acme", role, expires_in=timedelta(days=1))
    return {"Authorization": f"Bearer {issued.token}"}


def _web_ids(web: Web, **filters: str) -> list[int]:
    page = web.client.get("/web/sightings", params=filters)
    assert page.status_code == 200, page.text
    return [int(n) for n in re.findall(r'href="/web/sightings/(\d+)"', page.text)]


def test_sightings_list_alike_on_the_web_the_api_and_the_cli(web: Web, seeded) -> None:
    ids = seeded.sighting_ids
    with web.services.storage.engine.begin() as conn:  # one confirmed, the rest in review
        conn.execute(update(sightings).where(sightings.c.id == ids[0]).values(state="confirmed"))
    web.sign_in_as(Role.ANALYST)
    headers = _key(web)
    runner = CliRunner()
    base = ["--data-dir", web.services.settings.data_dir]
    for filters in (
        {},
        {"state": "confirmed"},
        {"state": "pending_review"},
        {"provider": PROVIDER},
    ):
        on_web = _web_ids(web, **filters)
        answer = web.client.get("/api/v1/sightings", params=filters, headers=headers).json()
        assert [row["id"] for row in answer["sightings"]] == on_web
        assert answer["total"] == len(on_web)
        options = [f"--{k}={v}" for k, v in filters.items()]
        listed = runner.invoke(cli, [*base, "sightings", "list", *options, "--format", "json"])
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.output)["sightings"] == answer["sightings"]
    assert _web_ids(web, state="confirmed") == [ids[0]]

    paged = web.client.get(
        "/api/v1/sightings", params={"limit": 1, "offset": 1}, headers=headers
    ).json()
    assert [r["id"] for r in paged["sightings"]] == _web_ids(web)[1:2]
    assert paged["total"] == len(ids)
    as_csv = web.client.get("/api/v1/sightings", params={"format": "csv"}, headers=headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert tuple(rows[0]) == SIGHTING_COLUMNS
    assert [int(r["id"]) for r in rows] == _web_ids(web)
    text = runner.invoke(cli, [*base, "sightings", "list", "--state", "confirmed"])
    assert text.output.splitlines()[0].split("\t")[:3][0] == str(ids[0])
    assert "1-1 of 1 sightings" in text.output

    wrong = web.client.get("/api/v1/sightings", params={"since": "yesterday"}, headers=headers)
    assert wrong.status_code == 400
    assert "since must be a date" in wrong.json()["message"]
    assert web.client.get("/web/sightings", params={"state": "lost"}).status_code == 400
    for role in (Role.PLATFORM, Role.PROVIDER, Role.REGULATOR):
        refused = web.client.get("/api/v1/sightings", headers=_key(web, role))
        assert refused.status_code == 403


def test_the_reported_url_page_shows_the_outcome_and_every_url(web: Web) -> None:
    web.sign_in_as(Role.ANALYST)
    page = web.client.get("/web/reports")
    made = web.post(
        "/web/reports",
        {"url": "http://10.0.0.1/x", "reporter_type": "hotline", "csrf_token": web.csrf(page.text)},
    )
    assert made.status_code in (200, 303)
    listed = web.client.get("/web/reports").text
    (reference,) = re.findall(r'href="/web/reports/(KD-[^"]+)"', listed)
    assert "not checked yet" in listed
    run_worker(web.services.crawling, once=True, out=io.StringIO())

    listed = web.client.get("/web/reports").text
    assert "could not be fetched (blocked)" in listed
    shown = web.client.get(f"/web/reports/{reference}")
    assert shown.status_code == 200
    text = shown.text
    assert "could not be fetched" in text
    assert "blocked: 1" in text
    row = re.search(r'<table id="urls">.*?<tbody>(.*?)</tbody>', text, re.S).group(1)
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[:6] == ["http://10.0.0.1/x", "page", "0", "failed", "0", "blocked"]
    api = web.client.get(f"/api/v1/reports/{reference}", headers=_key(web)).json()
    assert api["urls"][0]["attempts"] == int(cells[4])
    assert api["outcome"]["meaning"] == "could not be fetched"
    only_done = web.client.get(f"/web/reports/{reference}", params={"state": "done"}).text
    assert "No address in this state." in only_done
    assert web.client.get("/web/reports/KD-nope").status_code == 404
