"""POST/GET /api/v1/reports: reported URLs stored once, answered with a reference number."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import FrozenClock
from keepdown.storage.crawl_store import CrawlStore, ReportStore
from keepdown.storage.tables_crawl import crawls
from tests.api.conftest import Api, make_settings, seed_known_bank


def _store(api: Api) -> ReportStore:
    return ReportStore(
        api.services.storage.engine,
        CrawlStore(api.services.storage.engine, api.client.app.state.ctx.settings),
    )


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


# --- scope per report -----------------------------------------------------------------------


def _crawl_row(api: Api, crawl_id: int):
    with api.services.storage.engine.connect() as conn:
        return conn.execute(crawls.select().where(crawls.c.id == crawl_id)).one()


def test_a_report_sets_the_scope_of_its_crawl(api: Api) -> None:
    scope = {
        "same_site": False,
        "max_depth": 2,
        "max_pages": 50,
        "max_bytes": 10_000_000,
        "include": ["/gallery/"],
        "exclude": [r"\.pdf$", "/logout"],
    }
    made = _report(api, "https://example.org/gallery/", scope=scope)
    assert made.status_code == 201, made.text
    assert made.json()["crawl_started"] is True
    row = _crawl_row(api, made.json()["crawl_id"])
    assert (row.same_site, row.max_depth, row.max_pages, row.max_bytes) == (
        False,
        2,
        50,
        10_000_000,
    )
    assert (row.include, row.exclude) == (["/gallery/"], [r"\.pdf$", "/logout"])
    plain = _report(api, "https://example.org/other").json()
    defaults = api.client.app.state.ctx.settings
    row = _crawl_row(api, plain["crawl_id"])
    assert (row.same_site, row.max_depth, row.max_pages) == (
        defaults.crawl_same_site,
        defaults.crawl_max_depth,
        defaults.crawl_max_pages,
    )


def test_a_scope_beyond_the_operator_caps_is_refused(api: Api) -> None:
    caps = api.client.app.state.ctx.settings
    cases = [
        ({"max_depth": caps.crawl_cap_depth + 1}, "crawl_cap_depth"),
        ({"max_pages": caps.crawl_cap_pages + 1}, "crawl_cap_pages"),
        ({"max_bytes": caps.crawl_cap_bytes + 1}, "crawl_cap_bytes"),
        ({"include": ["(unclosed"]}, "bad include pattern"),
        ({"exclude": ["x" * 301]}, "1 to 300 characters"),
        ({"include": [f"p{i}" for i in range(21)]}, "include"),
        ({"max_pages": 0}, "max_pages"),
        ({"depth": 3}, "depth"),  # not a scope field
    ]
    for scope, says in cases:
        response = _report(api, "https://example.org/too-much", scope=scope)
        assert response.status_code == 400, (scope, response.text)
        assert says in response.text, (scope, response.text)
    listed = api.client.get("/api/v1/reports", headers=api.auth(Role.ANALYST)).json()
    assert listed["reports"] == []  # nothing stored for a refused report


# --- the public endpoint --------------------------------------------------------------------


def _public(api: Api, url: str, **extra: object):
    return api.client.post("/api/v1/reports/public", json={"url": url, **extra})


def _status(api: Api, reference: str, receipt: str):
    body = {"reference": reference, "receipt": receipt}
    return api.client.post("/api/v1/reports/public/status", json=body)


def test_the_public_reports_without_a_key_and_reads_only_its_status(api: Api) -> None:
    made = _public(api, "http://example.org/bad", description="pictures on the second page")
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"reference", "receipt", "status"}
    assert body["reference"].startswith("KD-")
    assert body["status"] == "received"
    staff = api.client.get("/api/v1/reports", headers=api.auth(Role.ADMIN)).json()["reports"][0]
    assert (staff["reporter_type"], staff["crawl_id"]) == ("public", 1)
    assert staff["reference"] != body["reference"]  # the reporter's reference is their own
    store = _store(api)
    assert [s["note"] for s in store.submissions(staff["reference"])] == [
        "pictures on the second page"
    ]

    status = _status(api, body["reference"], body["receipt"])
    assert status.status_code == 200
    assert status.json() == {"reference": body["reference"], "status": "received", "reason": None}
    CrawlStore(api.services.storage.engine, api.client.app.state.ctx.settings).finish(
        1, now=api.client.app.state.ctx.clock.now(), reason="frontier exhausted"
    )
    assert _status(api, body["reference"], body["receipt"]).json()["status"] == "checked"

    other = _report(api, "http://example.org/someone-else").json()
    for reference, receipt in (
        (body["reference"], "not-the-receipt"),
        (other["reference"], body["receipt"]),  # a receipt opens its own report only
        ("KD-nope", body["receipt"]),
    ):
        refused = _status(api, reference, receipt)
        assert refused.status_code == 404
        assert refused.json()["code"] == "not_found"
        assert "example.org" not in refused.text


def test_a_second_public_report_of_a_url_learns_nothing_new(api: Api) -> None:
    first = _public(api, "http://example.org/again").json()
    CrawlStore(api.services.storage.engine, api.client.app.state.ctx.settings).finish(
        1, now=api.client.app.state.ctx.clock.now(), reason="frontier exhausted"
    )
    second = _public(api, "http://EXAMPLE.org/again#x").json()
    assert second["reference"] != first["reference"]  # their own, not the known report's
    assert second["receipt"] != first["receipt"]
    assert second["status"] == "received"  # not "checked": no hint it was known before
    status = _status(api, second["reference"], second["receipt"]).json()["status"]
    assert status == "received"  # a check after their report is still to come


def test_the_public_endpoint_takes_nothing_else(api: Api) -> None:
    for extra in (
        {"reporter_type": "hotline"},
        {"scope": {"max_depth": 20}},
        {"note": "x"},
        {"description": "x" * 2001},
    ):
        response = _public(api, "http://example.org/x", **extra)
        assert response.status_code == 400, (extra, response.text)
    for url in ("ftp://example.org/", "http://10.0.0.1:99999/", "javascript:alert(1)"):
        assert _public(api, url).status_code == 400
    multipart = api.client.post(
        "/api/v1/reports/public", files={"file": ("a.jpg", b"\xff\xd8\xff", "image/jpeg")}
    )
    assert multipart.status_code == 400  # no uploads


@pytest.fixture
def strict_api(tmp_path):
    app, services = build_app(
        make_settings(tmp_path, public_report_rate_limit="3/minute"), refresh_in_background=False
    )
    with TestClient(app) as client:
        yield Api(client=client, services=services)


def test_the_public_endpoint_is_rate_limited_per_client(strict_api: Api) -> None:
    made = [_public(strict_api, f"http://example.org/{i}") for i in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    over = _public(strict_api, "http://example.org/4")
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1
    body = made[0].json()
    assert _status(strict_api, body["reference"], body["receipt"]).status_code == 429
    listed = strict_api.services.storage.engine
    with listed.connect() as conn:
        assert len(list(conn.execute(crawls.select()))) == 3  # the refused one stored nothing


# --- re-crawl of a re-reported URL ------------------------------------------------------------


@pytest.fixture
def clocked_api(tmp_path):
    clock = FrozenClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    app, services = build_app(
        make_settings(tmp_path, crawl_recrawl_after_hours=24),
        clock=clock,
        refresh_in_background=False,
    )
    with TestClient(app) as client:
        api = Api(client=client, services=services)
        services.auth.ensure_organisation("acme")
        issued = services.auth.issue_key("acme", Role.ANALYST, expires_in=timedelta(days=30))
        api.tokens[Role.ANALYST] = issued.token
        yield api, clock


def test_a_url_reported_again_long_after_its_crawl_is_crawled_again(clocked_api) -> None:
    api, clock = clocked_api
    first = _report(api, "https://example.org/back").json()
    again = _report(api, "https://example.org/back").json()
    assert (again["crawl_started"], again["crawl_id"]) == (False, first["crawl_id"])  # pending
    store = CrawlStore(api.services.storage.engine, api.client.app.state.ctx.settings)
    store.finish(first["crawl_id"], now=clock.now(), reason="frontier exhausted")
    clock.advance(timedelta(hours=23))
    soon = _report(api, "https://example.org/back").json()
    assert (soon["crawl_started"], soon["crawl_id"]) == (False, first["crawl_id"])
    clock.advance(timedelta(hours=2))
    later = _report(api, "https://example.org/back").json()
    assert later["crawl_started"] is True
    assert later["reference"] == first["reference"]
    assert later["crawl_id"] != first["crawl_id"]
    assert later["times_reported"] == 4
    assert store.get(later["crawl_id"]).state == "pending"
    outcomes = [s["outcome"] for s in _store(api).submissions(first["reference"])]
    assert outcomes == ["new", "repeat", "repeat", "recrawl"]


def test_the_public_endpoint_fails_closed_without_its_rate_limit_store(tmp_path) -> None:
    settings = make_settings(tmp_path, rate_limit_storage_url="redis://127.0.0.1:1/0")
    app, services = build_app(settings, refresh_in_background=False)
    with TestClient(app) as client:
        response = client.post("/api/v1/reports/public", json={"url": "http://example.org/"})
        assert response.status_code == 503, response.text
        with services.storage.engine.connect() as conn:
            assert list(conn.execute(crawls.select())) == []  # nothing taken unlimited


def test_api_replicas_share_the_public_limit_through_redis(tmp_path) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis not reachable at 127.0.0.1:6379")

    def forget() -> None:
        for key in client.scan_iter(match="*keepdown-public-report*testclient*"):
            client.delete(key)

    forget()
    try:
        replicas = []
        for name in ("a", "b"):
            settings = make_settings(
                tmp_path / name, rate_limit_storage_url=url, public_report_rate_limit="3/minute"
            )
            replicas.append(build_app(settings, refresh_in_background=False)[0])
        with TestClient(replicas[0]) as a, TestClient(replicas[1]) as b:
            codes = [
                c.post("/api/v1/reports/public", json={"url": f"http://example.org/{i}"})
                for i, c in enumerate((a, b, a, b))
            ]
        assert [r.status_code for r in codes] == [201, 201, 201, 429]
    finally:
        forget()
        client.close()


def _crawl(api: Api) -> None:
    """Run every runnable crawl to its end, as ``keepdown crawl --once`` does."""
    run_worker(api.services.crawling, once=True, out=io.StringIO())


def test_an_unreachable_report_says_so_to_the_reporter_and_the_analyst(api: Api) -> None:
    # Issue 15, item 2: the public status answered "checked" and the list said
    # crawl_started false, while the only URL had failed.
    public = _public(api, "http://10.0.0.1/x").json()  # the address guard refuses it
    staff = _report(api, "http://10.0.0.1/x").json()
    assert _status(api, public["reference"], public["receipt"]).json() == {
        "reference": public["reference"],
        "status": "received",
        "reason": None,
    }
    listed = api.client.get("/api/v1/reports", headers=api.auth(Role.ANALYST)).json()
    assert listed["reports"][0]["outcome"]["outcome"] == "received"
    assert "crawl_started" not in listed["reports"][0]  # an intake's answer, not a state
    _crawl(api)

    status = _status(api, public["reference"], public["receipt"]).json()
    assert (status["status"], status["reason"]) == ("unreachable", "blocked")
    listed = api.client.get("/api/v1/reports", headers=api.auth(Role.ANALYST)).json()
    (shown,) = listed["reports"]
    assert shown["outcome"]["outcome"] == "unreachable"
    assert shown["outcome"]["reason"] == "blocked"
    assert shown["crawl"]["failures"] == {"blocked": 1}
    one = api.client.get(f"/api/v1/reports/{staff['reference']}", headers=api.auth(Role.ADMIN))
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["outcome"] == shown["outcome"]
    (url,) = body["urls"]
    assert (url["url"], url["state"], url["failure"], body["urls_total"]) == (
        "http://10.0.0.1/x",
        "failed",
        "blocked",
        1,
    )
    assert url["attempts"] <= 1
    assert url["last_error"]
    assert url["failure_meaning"].startswith("the address is one keepdown never connects to")
    failed = api.client.get(
        f"/api/v1/reports/{staff['reference']}",
        params={"state": "done"},
        headers=api.auth(Role.ADMIN),
    ).json()
    assert (failed["urls"], failed["urls_total"]) == ([], 0)
    missing = api.client.get("/api/v1/reports/KD-nope", headers=api.auth(Role.ADMIN))
    assert missing.status_code == 404
    for role in (Role.PLATFORM, Role.PROVIDER, Role.REGULATOR):
        refused = api.client.get(f"/api/v1/reports/{staff['reference']}", headers=api.auth(role))
        assert refused.status_code == 403


def test_a_fetched_report_is_checked_with_nothing_said_of_what_was_found(
    api: Api, image_site: str
) -> None:
    seed_known_bank(api.services)
    public = _public(api, f"{image_site}/known.jpg").json()
    gone = _report(api, f"{image_site}/gone.html").json()
    _crawl(api)
    status = _status(api, public["reference"], public["receipt"]).json()
    assert (status["status"], status["reason"]) == ("checked", None)  # never "known found"
    found = api.client.get(
        "/api/v1/reports", params={"reference": gone["reference"]}, headers=api.auth(Role.ADMIN)
    ).json()["reports"][0]
    assert (found["outcome"]["outcome"], found["outcome"]["reason"]) == ("unreachable", "http")
    assert "HTTP 404" in found["outcome"]["detail"]
    listed = api.client.get("/api/v1/reports", headers=api.auth(Role.ANALYST)).json()
    known = next(r for r in listed["reports"] if r["url"].endswith("/known.jpg"))
    assert known["outcome"]["outcome"] == "known_found"
    assert known["crawl"]["confirmed"] + known["crawl"]["pending_review"] == 1
