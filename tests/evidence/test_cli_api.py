"""The evidence commands and endpoints, end to end on a database holding the hand-made history:
``keepdown verify events`` / ``evidence`` / ``report verify``, the signed transparency answers,
the public checkpoints, leaves and key, and a provider's own evidence by key and by link."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.cli import cli
from keepdown.evidence import Anchor, extend, parse_checkpoint
from keepdown.notices.providers import Provider
from keepdown.reports.provider_evidence import check_evidence
from keepdown.settings import load_settings
from keepdown.storage import open_storage_url
from tests.evidence.conftest import tamper
from tests.reports.scenario import A, history


@pytest.fixture
def db(database_url, tmp_path):
    storage = open_storage_url(database_url)
    for event in history():
        storage.events.emit(event)
    storage.close()
    return database_url


@pytest.fixture
def run(db, tmp_path):
    data = tmp_path / "data"

    def invoke(*args):
        env = {"KEEPDOWN_DATA_DIR": str(data)}
        return CliRunner(env=env).invoke(cli, ["--database-url", db, *args])

    return invoke


def test_verify_events_and_checkpoints_from_the_command_line(run, db, tmp_path) -> None:
    ok = run("verify", "events")
    assert ok.exit_code == 0, ok.output
    assert "OK: every event follows" in ok.stdout
    made = run("evidence", "checkpoint")
    assert made.exit_code == 0, made.output
    kept = tmp_path / "cp.json"
    kept.write_text(made.stdout)
    assert parse_checkpoint(made.stdout).checkpoint.position == len(history())
    assert "nothing new" in run("evidence", "checkpoint").stderr
    assert run("verify", "events", "--from", str(kept)).exit_code == 0
    assert run("verify", "events", "--from", "latest", "--json").exit_code == 0
    listed = json.loads(run("evidence", "checkpoints").stdout)
    assert [c["checkpoint"]["position"] for c in listed] == [len(history())]
    engine = open_storage_url(db).engine
    tamper(engine, [f"DELETE FROM events WHERE id > {len(history()) - 2}"])
    engine.dispose()
    assert run("verify", "events").exit_code == 65  # the recorded checkpoint is past the end
    cut = run("verify", "events", "--from", str(kept))
    assert cut.exit_code == 65
    assert "(anchor)" in cut.stdout
    assert "keepdown: error: the event chain breaks" in cut.stderr


_TAMPERING = {
    "edited": (["UPDATE events SET kind = 'task_ran' WHERE id = 5"], 5, "changed"),
    "deleted": (["DELETE FROM events WHERE id = 3"], 3, "missing"),
    "reordered": (
        [
            "UPDATE events SET id = -4 WHERE id = 4",
            "UPDATE events SET id = 4 WHERE id = 8",
            "UPDATE events SET id = 8 WHERE id = -4",
        ],
        4,
        "changed",
    ),
}


@pytest.mark.parametrize("change", sorted(_TAMPERING))
def test_verify_events_names_the_position_of_a_change_made_in_sql(run, db, change) -> None:
    """The command itself (not only the function under it) finds an event edited, deleted or
    moved directly in SQL, at its position, and exits 65."""
    statements, position, reason = _TAMPERING[change]
    assert run("verify", "events").exit_code == 0
    engine = open_storage_url(db).engine
    tamper(engine, statements)
    engine.dispose()
    found = run("verify", "events")
    assert found.exit_code == 65, found.output
    assert f"BROKEN at position {position} ({reason})" in found.stdout
    as_json = json.loads(run("verify", "events", "--json").stdout)
    assert as_json["ok"] is False


def test_a_signed_report_verifies_and_an_altered_one_does_not(run, tmp_path) -> None:
    target = tmp_path / "q3.json"
    made = run(
        "report", "transparency", "--period", "2026-Q3", "--format", "json", "-o", str(target)
    )
    assert made.exit_code == 0, made.output
    assert (tmp_path / "q3.json.sig").is_file()
    ok = run("report", "verify", str(target))
    assert ok.exit_code == 0, ok.output
    assert "signature: valid" in ok.stdout
    assert "0 differ" in ok.stdout
    doc = json.loads(target.read_text())
    doc["totals"]["removed"] += 1
    target.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    bad = run("report", "verify", str(target), "--no-chain")
    assert bad.exit_code == 65
    assert "signature: invalid" in bad.stdout
    assert "DIFFERS totals.removed" in bad.stdout
    html = tmp_path / "q3.html"
    assert run("report", "transparency", "--period", "2026-Q3", "-o", str(html)).exit_code == 0
    assert run("report", "verify", str(html)).exit_code == 0
    flagger = tmp_path / "q3-flagger.txt"
    made = run(
        "report", "transparency", "--period", "2026-Q3", "--view", "flagger", "-o", str(flagger)
    )
    assert made.exit_code == 0, made.output
    assert "Trusted flagger report" in flagger.read_text()
    assert run("report", "verify", str(flagger), "--no-chain").exit_code == 0
    wrong = run(
        "report", "transparency", "--period", "2026-Q3", "--view", "flagger", "--format", "html"
    )
    assert wrong.exit_code == 64


def test_a_providers_evidence_from_the_command_line(run, db, tmp_path) -> None:
    storage = open_storage_url(db)
    from keepdown.notices.sealing import secret_box
    from keepdown.storage.provider_store import SqlProviderStore

    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path / "data")})
    SqlProviderStore(storage.engine, secret_box(settings)).add(
        Provider(name=A, abuse_contacts=("abuse@a.test",)), history()[0].at
    )
    storage.close()
    out = tmp_path / "a.json"
    made = run("evidence", "provider", A, "--period", "2026-Q3", "-o", str(out))
    assert made.exit_code == 0, made.output
    assert run("verify", "evidence", str(out)).exit_code == 0
    key = tmp_path / "key.pub"
    key.write_text(run("evidence", "key").stdout)
    assert run("verify", "evidence", str(out), "--public-key", str(key)).exit_code == 0
    doc = json.loads(out.read_text())
    doc["events"][0]["payload"] = doc["events"][0]["payload"].replace("2026", "2027", 1)
    out.write_text(json.dumps(doc))
    bad = run("verify", "evidence", str(out))
    assert bad.exit_code == 65
    assert "does not match its chain hash" in bad.stdout


@pytest.fixture
def api(db, tmp_path):
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "database_url": db,
            "auth_cache_seconds": 0,
            "operator_organisation": "hotline",
            "evidence_public_rate_limit": "",
        },
    )
    app, services = build_app(settings, refresh_in_background=False)
    with TestClient(app) as client:
        auth = services.auth
        auth.ensure_organisation("hotline")
        auth.ensure_organisation("hosting-a")
        ctx = app.state.ctx
        ctx.providers.add(
            Provider(name=A, abuse_contacts=("abuse@a.test",), organisation="hosting-a"),
            ctx.clock.now(),
        )
        day = timedelta(days=1)
        tokens = {
            "regulator": auth.issue_key("hotline", Role.REGULATOR, expires_in=day).token,
            "provider": auth.issue_key("hosting-a", Role.PROVIDER, expires_in=day).token,
            "analyst": auth.issue_key("hotline", Role.ANALYST, expires_in=day).token,
        }
        yield client, tokens, ctx


def _as(tokens, who):
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_the_apis_reports_are_signed_and_verify(api) -> None:
    client, tokens, ctx = api
    answer = client.get(
        "/api/v1/transparency?period=2026-Q3&format=csv", headers=_as(tokens, "regulator")
    )
    assert answer.status_code == 200
    signature = answer.headers["Keepdown-Signature"]
    evidence = ctx.evidence
    assert answer.headers["Keepdown-Signing-Key"] == f"sha256:{evidence.key().fingerprint}"
    check = evidence.reproducer().verify(answer.content, signature)
    assert check.ok, check.to_dict()
    regulator = client.get(
        "/api/v1/transparency/regulator?period=2026-Q3", headers=_as(tokens, "regulator")
    )
    assert (
        evidence.reproducer().verify(regulator.content, regulator.headers["Keepdown-Signature"]).ok
    )


def test_the_public_evidence_endpoints(api) -> None:
    client, _tokens, ctx = api
    evidence = ctx.evidence
    assert client.get("/api/v1/evidence/checkpoints/latest").status_code == 404
    first = evidence.record_checkpoint()
    key = client.get("/api/v1/evidence/key").json()
    assert key["key_sha256"] == evidence.key().fingerprint
    latest = parse_checkpoint(client.get("/api/v1/evidence/checkpoints/latest").json())
    latest.verify(base64.b64decode(key["public_key"]))
    assert latest == first
    assert client.get("/api/v1/evidence/checkpoints").json()["checkpoints"] == [first.to_dict()]
    # anyone holding checkpoint 10 extends it with the published leaves to the head
    ten = Anchor(10, evidence.chain.hash_at(10))
    head = evidence.chain.head()
    leaves = client.get(f"/api/v1/evidence/leaves?first=11&last={head.position}").json()
    pairs = [(x["position"], bytes.fromhex(x["leaf"])) for x in leaves["leaves"]]
    assert extend(ten, pairs) == head
    assert client.get("/api/v1/evidence/leaves?first=5&last=4").status_code == 400
    assert client.get("/api/v1/evidence/leaves?first=1&last=20000").status_code == 400


def test_a_provider_downloads_its_own_evidence(api) -> None:
    client, tokens, ctx = api
    mine = client.get("/api/v1/evidence/provider?period=2026-Q3", headers=_as(tokens, "provider"))
    assert mine.status_code == 200, mine.text
    doc = mine.json()
    assert [loc["location_id"] for loc in doc["locations"]] == ["L1", "L2", "L3", "L4"]
    assert check_evidence(doc, trusted=ctx.evidence.key().public) == []
    assert client.get("/api/v1/evidence/provider").status_code == 401
    staff = client.get("/api/v1/evidence/provider", headers=_as(tokens, "analyst"))
    assert staff.status_code == 400  # staff name the provider
    named = client.get(f"/api/v1/evidence/provider?provider={A}", headers=_as(tokens, "analyst"))
    assert named.status_code == 200
    other = client.get("/api/v1/evidence/provider?provider=Nobody", headers=_as(tokens, "provider"))
    assert other.status_code == 404
    regulator = client.get("/api/v1/evidence/provider", headers=_as(tokens, "regulator"))
    assert regulator.status_code == 403
    audit = [r.action for r in ctx.auth.audit_log.list_records(limit=20)]
    assert "evidence.provider" in audit
