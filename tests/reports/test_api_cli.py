"""The report and finance commands and endpoints, on a database holding the hand-made history:
the same figures as the pure functions, the roles each endpoint admits, clear errors."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.cli import cli
from keepdown.storage import open_storage_url

from .scenario import PLANTED_URLS, A, history

READERS = {Role.REGULATOR, Role.ANALYST, Role.ADMIN}
STAFF = {Role.ANALYST, Role.ADMIN}


@pytest.fixture
def db(database_url):
    storage = open_storage_url(database_url)
    for event in history():
        storage.events.emit(event)
    storage.close()
    return database_url


def run(db, *args, env=None):
    env = {"KEEPDOWN_DATA_DIR": str(_DATA), **(env or {})}  # the signing key goes there
    result = CliRunner(env=env).invoke(cli, ["--database-url", db, *args])
    return result


_DATA = Path(tempfile.mkdtemp(prefix="keepdown-report-cli-"))


def test_cli_transparency_formats(db, tmp_path):
    out = run(db, "report", "transparency", "--period", "2026-Q3", "--format", "json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["league_table"][0]["name"] == A
    assert doc["totals"]["median_hours"] == 48.0
    target = tmp_path / "r.html"
    out = run(db, "report", "transparency", "--period", "2026-Q3", "-o", str(target))
    assert out.exit_code == 0, out.output
    html = target.read_text()
    assert html.startswith("<!doctype html>")
    assert PLANTED_URLS[0] not in html
    out = run(
        db,
        "report",
        "transparency",
        "--period",
        "2026-Q3",
        "--view",
        "regulator",
        "--format",
        "csv",
    )
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["regime"] for r in rows} == {"EU DSA", "UK OSA", "AU eSafety", "provenance"}


def test_cli_errors_are_clear(db):
    out = run(db, "report", "transparency", "--period", "someday")
    assert out.exit_code == 65
    assert "not a period" in out.output
    out = run(
        db,
        "report",
        "transparency",
        "--period",
        "2026-Q3",
        "--view",
        "regulator",
        "--format",
        "html",
    )
    assert out.exit_code == 64
    out = run(db, "finance", "subscribe", "bank", "--webhook", "https://bank.test/h")
    assert out.exit_code == 65
    assert "--secret-env" in out.output
    out = run(db, "finance", "export", "--tlp", "purple")
    assert out.exit_code == 2


def test_cli_finance_subscriptions_and_export(db):
    env = {"BANK_HOOK_KEY": "0123456789abcdef-key"}
    out = run(
        db,
        "finance",
        "subscribe",
        "bank-h",
        "--webhook",
        "https://bank.test/h",
        "--secret-env",
        "BANK_HOOK_KEY",
        "--threshold",
        "3",
        "--type",
        "btc",
        env=env,
    )
    assert out.exit_code == 0, out.output
    out = run(db, "finance", "subscribe", "bank-m", "--email", "fiu@bank-m.test")
    assert out.exit_code == 0, out.output
    out = run(db, "finance", "subscriptions")
    assert "bank-h\twebhook\thttps://bank.test/h\t3\tbtc" in out.output
    assert "0123456789abcdef-key" not in out.output
    assert run(db, "finance", "list").output == ""
    out = run(db, "finance", "export", "--format", "stix", "--tlp", "green")
    assert json.loads(out.output)["type"] == "bundle"
    assert "TLP:GREEN" in out.output
    out = run(db, "finance", "alert")
    assert out.output.startswith("planned 0 sent 0")
    assert run(db, "finance", "unsubscribe", "bank-m").exit_code == 0
    assert run(db, "finance", "unsubscribe", "bank-m").exit_code == 66


@pytest.fixture
def client(tmp_path, db):
    from keepdown.settings import load_settings

    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "database_url": db,
            "auth_cache_seconds": 0,
            "operator_organisation": "acme",
        },
    )
    app, services = build_app(settings, refresh_in_background=False)
    with TestClient(app) as c:
        services.auth.ensure_organisation("acme")
        tokens = {
            role: services.auth.issue_key("acme", role, expires_in=timedelta(days=1)).token
            for role in Role
        }
        yield c, tokens


def test_api_roles_and_figures(client):
    c, tokens = client
    paths = {
        "/api/v1/transparency?period=2026-Q3": READERS,
        "/api/v1/transparency/regulator?period=2026-Q3&format=csv": READERS,
        "/api/v1/finance/indicators": STAFF,
        "/api/v1/finance/export?format=csv": STAFF,
        "/api/v1/finance/subscriptions": STAFF,
        "/api/v1/finance/alerts": STAFF,
    }
    for path, allowed in paths.items():
        assert c.get(path).status_code == 401
        for role, token in tokens.items():
            r = c.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == (200 if role in allowed else 403), (path, role, r.text)
    head = {"Authorization": f"Bearer {tokens[Role.REGULATOR]}"}
    doc = c.get("/api/v1/transparency?period=2026-Q3", headers=head).json()
    assert doc["league_table"][0]["median_hours"] == 24.0
    html = c.get("/api/v1/transparency?period=2026-Q3&format=html", headers=head)
    assert html.headers["content-type"].startswith("text/html")
    assert PLANTED_URLS[0] not in html.text
    bad = c.get("/api/v1/transparency?period=2026-Q9", headers=head)
    assert bad.status_code == 400


def test_api_subscriptions(client):
    c, tokens = client
    head = {"Authorization": f"Bearer {tokens[Role.ANALYST]}"}
    body = {
        "name": "bank",
        "channel": "webhook",
        "target": "https://bank.test/h",
        "secret": "0123456789abcdef-key",
        "types": ["btc"],
    }
    made = c.post("/api/v1/finance/subscriptions", json=body, headers=head)
    assert made.status_code == 201, made.text
    assert made.json()["secret_set"] is True
    assert "0123456789abcdef-key" not in made.text
    assert c.post("/api/v1/finance/subscriptions", json=body, headers=head).status_code == 409
    no_secret = {**body, "name": "other", "secret": None}
    assert c.post("/api/v1/finance/subscriptions", json=no_secret, headers=head).status_code == 400
    listed = c.get("/api/v1/finance/subscriptions", headers=head).json()["subscriptions"]
    assert [s["name"] for s in listed] == ["bank"]
    assert c.delete("/api/v1/finance/subscriptions/bank", headers=head).status_code == 204
    assert c.delete("/api/v1/finance/subscriptions/bank", headers=head).status_code == 404
    stix = c.get("/api/v1/finance/export?format=stix&tlp=red", headers=head)
    assert stix.status_code == 200
    assert "TLP:RED" in stix.text
    # every change and export was recorded before it ran, then settled with its outcome
    log = c.app.state.ctx.auth.audit_log
    found = [
        (r.action, r.target, r.outcome)
        for r in reversed(log.list_records(limit=50))
        if r.action.startswith("finance.")
    ]
    assert found == [
        ("finance.subscribe", "bank", "ok"),
        ("finance.subscribe", "bank", "failed"),  # the 409
        ("finance.subscribe", "other", "failed"),  # no secret: refused before storing
        ("finance.unsubscribe", "bank", "ok"),
        ("finance.unsubscribe", "bank", "failed"),  # the 404
        ("finance.export", "stix", "ok"),
    ]


def _same(row: dict, league: dict) -> None:
    """A notices-figures row says what the report's league-table row says."""
    pairs = {
        "notified": "locations",
        "removed": "removed",
        "still_present": "still_present",
        "withdrawn": "withdrawn",
        "median_removal_hours": "median_hours",
        "p90_removal_hours": "p90_hours",
        "removal_hours": "removal_hours",
        "reappearances": "reappearances",
        "precision_max_hours": "precision_max_hours",
    }
    for ours, theirs in pairs.items():
        assert row[ours] == league[theirs], (row["provider"], ours)
    for window in ("24h", "7d", "42d"):
        assert row[f"share_removed_{window}"] == league["share_within"][window]


def test_notices_figures_are_the_report_figures_in_every_view(db, client):
    """keepdown notices figures --json, GET /api/v1/notices/figures and the transparency
    report of the same period give the same numbers (one computation)."""
    report = json.loads(
        run(db, "report", "transparency", "--period", "2026-Q3", "--format", "json").stdout
    )
    league = {row["name"]: row for row in report["league_table"]}
    cli_doc = json.loads(run(db, "notices", "figures", "--period", "2026-Q3", "--json").output)
    assert {row["provider"] for row in cli_doc["providers"]} == set(league)
    for row in cli_doc["providers"]:
        _same(row, league[row["provider"]])
    _same(cli_doc["totals"], report["totals"])
    assert cli_doc["totals"]["notified"] == 5  # the withdrawn L5 is not counted
    c, tokens = client
    head = {"Authorization": f"Bearer {tokens[Role.REGULATOR]}"}
    api_doc = c.get("/api/v1/notices/figures?period=2026-Q3", headers=head).json()
    assert api_doc == cli_doc
    assert c.get("/api/v1/notices/figures?period=2026-Q9", headers=head).status_code == 400
    text = run(db, "notices", "figures", "--period", "2026-Q3").output.splitlines()
    assert text[0] == "period 2026-Q3"
    a_line = next(line for line in text if line.startswith(A + "\t")).split("\t")
    # notified, removed, still present, withdrawn, median, p90 (L2 6 h, L1 24 h, L3 240 h)
    assert a_line[2:8] == ["3", "3", "1", "0", "24.0 h", "240.0 h"]
    everything = c.get("/api/v1/notices/figures", headers=head).json()
    assert everything["period"]["label"].startswith("to ")
    assert everything["totals"]["removed"] == 5  # L4 (October) too
