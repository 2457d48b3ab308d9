"""POST/GET /api/v1/reports: reported URLs stored once, answered with a reference number."""

from __future__ import annotations

from keepdown.auth import Role
from keepdown.storage.tables_crawl import crawls
from tests.api.conftest import Api


def _report(api: Api, url: str, role: Role = Role.ANALYST, **extra: object):
    return api.client.post("/api/v1/reports", json={"url": url, **extra}, headers=api.auth(role))


def test_a_report_answers_a_reference_and_queues_a_crawl(api: Api) -> None:
    made = _report(api, "https://Example.ORG:443/a/../gallery?x=1", reporter_type="hotline")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["reference"].startswith("KD-")
    assert body["url"] == "https://example.org/gallery?x=1"
    assert (body["reporter_type"], body["times_reported"], body["new"]) == ("hotline", 1, True)
    with api.services.storage.engine.connect() as conn:
        seeds = [row.seeds for row in conn.execute(crawls.select())]
    assert seeds == [["https://example.org/gallery?x=1"]]
    shown = api.client.get(
        "/api/v1/reports", params={"reference": body["reference"]}, headers=api.auth(Role.ADMIN)
    )
    assert shown.status_code == 200
    assert [r["url"] for r in shown.json()["reports"]] == [body["url"]]


def test_the_same_url_reported_twice_is_one_report(api: Api) -> None:
    first = _report(api, "http://example.org/x#frag", reporter_type="public").json()
    second = _report(api, "http://EXAMPLE.org/x", Role.ADMIN, reporter_type="trusted_flagger")
    assert second.status_code == 201
    again = second.json()
    assert (again["reference"], again["times_reported"], again["new"]) == (
        first["reference"],
        2,
        False,
    )
    listed = api.client.get("/api/v1/reports", headers=api.auth(Role.ANALYST)).json()
    assert [r["reference"] for r in listed["reports"]] == [first["reference"]]
    with api.services.storage.engine.connect() as conn:
        assert len(list(conn.execute(crawls.select()))) == 1  # one crawl, not two
    kinds = [e.kind for e in api.services.storage.events.read("url_reported")]
    assert kinds == ["url_reported", "url_reported"]


def test_bad_reports_are_refused(api: Api) -> None:
    odd = ("http://\x00/", "http://a b/", "http://[::1", "http://a:99999/", "http://ex%41.org/")
    for url in ("ftp://example.org/file", "javascript:alert(1)", "http://", "not a url", *odd):
        response = _report(api, url)
        assert response.status_code in (400, 422), (url, response.text)
    wrong_type = _report(api, "http://example.org/", reporter_type="anonymous")
    assert wrong_type.status_code in (400, 422)
    too_long = _report(api, "http://example.org/" + "a" * 5000)
    assert too_long.status_code in (400, 422)
    missing = api.client.get(
        "/api/v1/reports", params={"reference": "KD-nope"}, headers=api.auth(Role.ANALYST)
    )
    assert missing.json() == {"reports": []}


def test_only_analysts_and_admins_report(api: Api) -> None:
    for role in (Role.PLATFORM, Role.PROVIDER):
        assert _report(api, "http://example.org/", role).status_code == 403
    assert (
        api.client.post("/api/v1/reports", json={"url": "http://example.org/"}).status_code == 401
    )
