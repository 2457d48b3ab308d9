"""One scenario, every view (issue 15): every place keepdown shows a removal figure agrees
with one ledger worked out by hand below.

The provider pages looked figures up by name while ``removal_figures`` keyed them by provider
id, so ``/web/providers`` said 0 notified while ``/web/figures`` said 4; the regulator view
counted items sent to review as reviewed. Each view is a separate rendering of one
computation; this test reads each rendering back (web pages, API, CLI, the transparency report
in JSON, CSV and HTML, the regulator view's EU, UK and AU fields) and compares it with the
ledger, on SQLite and PostgreSQL. A new view of these figures belongs in this test.

The scenario, all in 2026-Q3 (the clock stands at the end of the quarter, so "to now" and
"2026-Q3" are the same figures), providers registered in the registry (events carry their ids):

- Alpha Hosting (NL): N1 on 07-01 06:00 names L1 and L2 (detected 07-01 00:00), acknowledged
  07-01 08:00; L1 removed 07-01 18:00 (12 h), L2 07-03 06:00 (48 h). L1's material is back at
  the same URL on 07-10 00:00: N2 (a reappearance) names L3 at 06:00, removed 07-11 06:00 (24 h).
- Beta Cloud (FR): N3 on 07-05 names L4, disputed 07-06, dispute upheld 07-07 (withdrawn);
  N4 on 07-05 names L5, never removed (still present).
- Gamma Net (US): registered, never notified.
- Uploads: two blocked (exact), one sent to review (near), one allowed.
- Review: s6 and s7 near matches sent to review; s6 confirmed by a person, s7 not decided yet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from keepdown.auth import Role
from keepdown.cli import cli
from keepdown.clock import utc
from keepdown.events import (
    DisputeReviewed,
    Event,
    NoticeAcknowledged,
    NoticeDisputed,
    NoticeSent,
    ReappearanceDetected,
    RemovalConfirmed,
    ReviewDecided,
    SightingRecorded,
    UploadChecked,
)
from keepdown.notices.providers import Provider
from keepdown.reports.durations import duration_text
from keepdown.reports.verify import figures_of
from tests.web.conftest import PASSWORD, make_web

ALPHA, BETA, GAMMA = "Alpha Hosting", "Beta Cloud", "Gamma Net"
COUNTRY = {ALPHA: "NL", BETA: "FR", GAMMA: "US"}
NOW = utc(2026, 10, 1)
PERIOD = "2026-Q3"

#: The ledger, by hand: per provider, and in all. A withdrawn location (dispute upheld) is
#: neither notified nor present (docs/transparency.md).
LEDGER: dict[str, dict[str, Any]] = {
    ALPHA: {
        "notified": 3,
        "removed": 3,
        "present": 0,
        "withdrawn": 0,
        "median": 24.0,
        "reappearances": 1,
    },
    BETA: {
        "notified": 1,
        "removed": 0,
        "present": 1,
        "withdrawn": 1,
        "median": None,
        "reappearances": 0,
    },
}
TOTALS = {"notified": 4, "removed": 3, "present": 1, "withdrawn": 1, "median": 24.0}
NOTICES = 4  # N1..N4
HUMAN_DECISIONS = 1  # s6 confirmed; s7 only sent to review
UPLOADS_BLOCKED = 2


def _sighting(n: int, at: datetime, provider: Provider, **kw: Any) -> SightingRecorded:
    return SightingRecorded(
        at=at,
        sighting_id=f"s{n}",
        media_url=f"http://example.test/m{n}.jpg",
        page_url=f"http://example.test/p{n}.html",
        bank=kw.get("bank", "trusted"),
        entry_id=100 + n,
        match_type=kw.get("match_type", "exact"),
        state=kw.get("state", "confirmed"),
        provider=provider.name,
        country=provider.country,
    )


def _ids(p: Provider) -> dict[str, str]:
    return {"provider": p.name, "provider_id": str(p.id), "country": p.country}


def scenario(alpha: Provider, beta: Provider) -> list[Event]:
    t = utc(2026, 7, 1)
    h = timedelta(hours=1)
    n2 = utc(2026, 7, 10, 6)
    return [
        _sighting(1, t, alpha),
        _sighting(2, t, alpha),
        NoticeSent(
            at=t + 6 * h,
            notice_ref="N1",
            locations=("L1", "L2"),
            sighting_ids=("s1", "s2"),
            **_ids(alpha),
        ),
        NoticeAcknowledged(at=t + 8 * h, notice_ref="N1", locations=("L1", "L2"), **_ids(alpha)),
        RemovalConfirmed(
            at=t + 18 * h,
            location_id="L1",
            notice_ref="N1",
            first_notice_at=t + 6 * h,
            **_ids(alpha),
        ),
        RemovalConfirmed(
            at=t + 54 * h,
            location_id="L2",
            notice_ref="N1",
            first_notice_at=t + 6 * h,
            **_ids(alpha),
        ),
        _sighting(3, utc(2026, 7, 10), alpha),
        ReappearanceDetected(
            at=utc(2026, 7, 10),
            sighting_id="s3",
            previous_location_id="L1",
            where="same_url",
            location_id="L3",
            notice_ref="N2",
            previous_provider_id=str(alpha.id),
            **_ids(alpha),
        ),
        NoticeSent(
            at=n2,
            notice_ref="N2",
            locations=("L3",),
            sighting_ids=("s3",),
            reappearance=True,
            **_ids(alpha),
        ),
        RemovalConfirmed(
            at=n2 + 24 * h, location_id="L3", notice_ref="N2", first_notice_at=n2, **_ids(alpha)
        ),
        _sighting(4, utc(2026, 7, 4), beta),
        _sighting(5, utc(2026, 7, 4), beta),
        NoticeSent(
            at=utc(2026, 7, 5),
            notice_ref="N3",
            locations=("L4",),
            sighting_ids=("s4",),
            **_ids(beta),
        ),
        NoticeSent(
            at=utc(2026, 7, 5),
            notice_ref="N4",
            locations=("L5",),
            sighting_ids=("s5",),
            **_ids(beta),
        ),
        NoticeDisputed(at=utc(2026, 7, 6), notice_ref="N3", location_id="L4", **_ids(beta)),
        DisputeReviewed(
            at=utc(2026, 7, 7), notice_ref="N3", location_id="L4", outcome="upheld", **_ids(beta)
        ),
        _sighting(
            6, utc(2026, 8, 1), beta, bank="review", match_type="near", state="pending_review"
        ),
        _sighting(
            7, utc(2026, 8, 1), beta, bank="review", match_type="near", state="pending_review"
        ),
        ReviewDecided(at=utc(2026, 8, 2), sighting_id="s6", decision="confirm", bank="review"),
        UploadChecked(
            at=utc(2026, 8, 20),
            key_id="k1",
            organisation="plat",
            outcome="block",
            match_type="exact",
        ),
        UploadChecked(
            at=utc(2026, 8, 20),
            key_id="k1",
            organisation="plat",
            outcome="block",
            match_type="exact",
        ),
        UploadChecked(
            at=utc(2026, 8, 20),
            key_id="k1",
            organisation="plat",
            outcome="review",
            match_type="near",
        ),
        UploadChecked(at=utc(2026, 8, 21), key_id="k1", organisation="plat", outcome="allow"),
    ]


def _hours(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _cells(html: str, classes: tuple[str, ...]) -> dict[str, str]:
    """The text of the first ``<td>`` or ``<dd>`` of each of these classes in ``html``."""
    found = {}
    for name in classes:
        match = re.search(rf'<(?:td|dd) class="{name}">(.*?)</(?:td|dd)>', html, re.S)
        assert match, (name, html[:200])
        found[name] = unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()
    return found


def _row(html: str, provider_id: int) -> str:
    match = re.search(rf'<tr data-provider="{provider_id}">(.*?)</tr>', html, re.S)
    assert match, provider_id
    return match.group(1)


@pytest.fixture
def every_view(tmp_path, database_url):
    app, services, ctx, clock = make_web(tmp_path, database_url=database_url)
    clock.set(NOW)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        services.auth.ensure_organisation("acme")
        ctx.signin.add_user("admin-person", PASSWORD, organisation="acme", role=Role.ADMIN)
        made = {
            name: ctx.providers.add(
                Provider(
                    name=name,
                    domains=(f"{name.split()[0].lower()}.test",),
                    abuse_contacts=(f"abuse@{name.split()[0].lower()}.test",),
                    country=COUNTRY[name],
                ),
                NOW - timedelta(days=120),
            )
            for name in (ALPHA, BETA, GAMMA)
        }
        for event in scenario(made[ALPHA], made[BETA]):
            services.storage.events.emit(event)
        token = services.auth.issue_key("acme", Role.ADMIN, expires_in=timedelta(days=1)).token
        page = client.get("/web/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = client.post(
            "/web/login",
            data={"username": "admin-person", "password": PASSWORD, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        yield client, {"Authorization": f"Bearer {token}"}, made, services.settings, database_url


def test_one_scenario_every_view_agrees_with_the_hand_ledger(every_view) -> None:
    client, headers, made, settings, database_url = every_view
    ids = {name: made[name].id for name in made}
    expected_rows = {name: LEDGER.get(name) for name in made}

    # /web/providers and each provider's page (issue 15, item 1)
    listing = client.get("/web/providers").text
    for name, want in expected_rows.items():
        row = _cells(_row(listing, ids[name]), ("notified", "removed", "median"))
        if want is None:
            assert row == {"notified": "0", "removed": "0", "median": "—"}, name
            continue
        assert row == {
            "notified": str(want["notified"]),
            "removed": str(want["removed"]),
            "median": duration_text(want["median"]),
        }, name
        page = client.get(f"/web/providers/{name}").text
        shown = _cells(
            page, ("notified", "removed", "present", "withdrawn", "median", "reappearances")
        )
        assert shown == {
            "notified": str(want["notified"]),
            "removed": str(want["removed"]),
            "present": str(want["present"]),
            "withdrawn": str(want["withdrawn"]),
            "median": duration_text(want["median"]),
            "reappearances": str(want["reappearances"]),
        }, name
    assert "No notice sent to this provider yet." in client.get(f"/web/providers/{GAMMA}").text

    # /web/figures, to now and for the quarter
    for query in ("", f"?period={PERIOD}"):
        figures = client.get(f"/web/figures{query}").text
        for name, want in LEDGER.items():
            row = _cells(
                _row(figures, ids[name]),
                ("notified", "removed", "present", "withdrawn", "median", "reappearances"),
            )
            assert row == {
                "notified": str(want["notified"]),
                "removed": str(want["removed"]),
                "present": str(want["present"]),
                "withdrawn": str(want["withdrawn"]),
                "median": duration_text(want["median"]),
                "reappearances": str(want["reappearances"]),
            }, (query, name)

    # the API's figures and keepdown notices figures --json: the same rows
    api = client.get("/api/v1/notices/figures", params={"period": PERIOD}, headers=headers)
    assert api.status_code == 200, api.text
    runner = CliRunner(env={"KEEPDOWN_DATA_DIR": settings.data_dir})
    base = ["--database-url", database_url]
    ran = runner.invoke(cli, [*base, "notices", "figures", "--json", "--period", PERIOD])
    assert ran.exit_code == 0, ran.output
    for body in (api.json(), json.loads(ran.stdout)):
        rows = {r["provider_id"]: r for r in body["providers"]}
        assert set(rows) == {str(ids[ALPHA]), str(ids[BETA])}
        for name, want in LEDGER.items():
            r = rows[str(ids[name])]
            assert (
                r["provider"],
                r["notified"],
                r["removed"],
                r["still_present"],
                r["withdrawn"],
                _hours(r["median_removal_hours"]),
                r["reappearances"],
            ) == (
                name,
                want["notified"],
                want["removed"],
                want["present"],
                want["withdrawn"],
                want["median"],
                want["reappearances"],
            )
        t = body["totals"]
        assert (
            t["notified"],
            t["removed"],
            t["still_present"],
            t["withdrawn"],
            _hours(t["median_removal_hours"]),
        ) == tuple(TOTALS.values())
        assert t["notices"] == NOTICES

    # the transparency report: JSON, CSV and HTML
    report = client.get(
        "/api/v1/transparency", params={"period": PERIOD, "format": "json"}, headers=headers
    )
    assert report.status_code == 200, report.text
    doc = report.json()
    league = {r["key"]: r for r in doc["league_table"]}
    for name, want in LEDGER.items():
        r = league[str(ids[name])]
        assert (
            r["name"],
            r["locations"],
            r["removed"],
            r["still_present"],
            r["withdrawn"],
            _hours(r["median_hours"]),
            r["reappearances"],
        ) == (
            name,
            want["notified"],
            want["removed"],
            want["present"],
            want["withdrawn"],
            want["median"],
            want["reappearances"],
        )
    totals = doc["totals"]
    assert (
        totals["locations"],
        totals["removed"],
        totals["still_present"],
        totals["withdrawn"],
        _hours(totals["median_hours"]),
    ) == tuple(TOTALS.values())
    assert totals["notices"] == NOTICES

    as_csv = client.get(
        "/api/v1/transparency", params={"period": PERIOD, "format": "csv"}, headers=headers
    ).text
    cells = {(r[0], r[1], r[2]): r[3] for r in csv.reader(io.StringIO(as_csv)) if len(r) > 3}
    for name, want in LEDGER.items():
        subject = next(s for (sec, s, _f) in cells if sec == "league_table" and name in s)
        assert cells[("league_table", subject, "locations")] == str(want["notified"])
        assert cells[("league_table", subject, "removed")] == str(want["removed"])
        assert cells[("league_table", subject, "withdrawn")] == str(want["withdrawn"])
        median = cells[("league_table", subject, "median_hours")]
        assert _hours(median or None) == want["median"]
    assert cells[("totals", "all providers", "locations")] == str(TOTALS["notified"])
    assert cells[("totals", "all providers", "removed")] == str(TOTALS["removed"])

    html = client.get(
        "/api/v1/transparency", params={"period": PERIOD, "format": "html"}, headers=headers
    ).text
    rows: dict[str, dict[str, str]] = {}
    for key, value in figures_of("html", html).items():
        table, row, column = key.split(", ", 2)
        rows.setdefault(f"{table}, {row}", {})[column] = value
    ranked = {r["provider"]: r for r in rows.values() if "rank" in r and "provider" in r}
    for name, want in LEDGER.items():
        r = ranked[name]
        assert (
            r["locations notified"],
            r["confirmed removed"],
            r["still present at period end"],
            r["withdrawn (dispute upheld)"],
            r["median time to removal"],
            r["reappearances"],
        ) == (
            str(want["notified"]),
            str(want["removed"]),
            str(want["present"]),
            str(want["withdrawn"]),
            duration_text(want["median"]),
            str(want["reappearances"]),
        )
    summary = {r["figure"]: r["value"] for r in rows.values() if {"figure", "value"} <= set(r)}
    assert summary["notices sent"] == str(NOTICES)
    assert summary["still present at period end"] == str(TOTALS["present"])
    assert summary["withdrawn in the period (dispute upheld)"] == str(TOTALS["withdrawn"])

    # the regulator view: EU, UK and AU fields
    view = client.get(
        "/api/v1/transparency/regulator",
        params={"period": PERIOD, "format": "json"},
        headers=headers,
    )
    assert view.status_code == 200, view.text
    fields = {f["field"]: f["value"] for f in view.json()["fields"]}
    assert fields["art15_1_b.notices_submitted"] == NOTICES
    assert fields["art15_1_b.action_taken"] == TOTALS["removed"]
    assert _hours(fields["art15_1_b.median_time_to_action"]) == TOTALS["median"]
    assert _hours(fields["sch8.time_to_take_down"]) == TOTALS["median"]
    assert _hours(fields["bose.median_time_to_action"]) == TOTALS["median"]
    assert fields["art15_1_d.complaints_decisions_reversed"] == 1
    human = fields["sor.automated_decision=AUTOMATED_DECISION_NOT_AUTOMATED"]
    assert human == fields["bose.human_review_of_detections"] == HUMAN_DECISIONS
    detected = fields["icu_c9.content_detected_by_hash_matching"]
    share = fields["icu_c9.proportion_reviewed_by_human_moderators"]
    assert share == pytest.approx(HUMAN_DECISIONS / detected, abs=5e-5)  # 4 places


def test_removal_figures_are_computed_in_one_place() -> None:
    """Views read :func:`keepdown.reports.running_figures` or the transparency report; none
    computes removal figures of its own (``removal_figures`` is called in keepdown.reports
    only), so a view cannot count by a rule of its own."""
    from pathlib import Path

    import keepdown

    root = Path(keepdown.__file__).parent
    callers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "removal_figures(" in path.read_text(encoding="utf-8")
    )
    assert all(c.startswith("reports/") for c in callers), callers
