"""``/api/v1/filings``: the same two scenarios as ``keepdown regulator``, over HTTP.

- a platform's keys file its own records: the profile, a report of a confirmed upload held for
  a second key's approval, one filing pass (statements of reasons and the report, at the
  stubs), and nothing of another platform's;
- the operator's staff: a referral, and the hotline's records of a period in one answer
  (signed reports with their signatures, the referrals, goAML), the goAML report alone;
- every change is in the audit log.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.banks.records import EntryRecord
from keepdown.events import UploadChecked
from keepdown.filings.stubs.cybertip import CyberTipStub
from keepdown.filings.stubs.dsa import DsaStub
from keepdown.finance.extract import Extractor
from keepdown.finance.observer import FinanceObserver
from keepdown.hashing.types import SignalType
from keepdown.settings import load_settings
from keepdown.storage.indicator_store import SqlIndicatorStore
from tests.finance.conftest import add_crawl, add_sighting
from tests.finance.vectors import BASE58_VALID

from .conftest import T0, benign, md5, sha256
from .test_regulator_cli import ENV

BTC = next(iter(BASE58_VALID))


class Page:
    def __init__(self, crawl_id: int) -> None:
        self.crawl_id, self.page_url, self.final_url = str(crawl_id), "http://a.test/1", None
        self.final_url = self.page_url
        self.fetched_at, self.status, self.server_ip, self.text = T0, 200, "127.0.0.1", BTC


@pytest.fixture
def api(database_url, tmp_path, monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with CyberTipStub() as ncmec, DsaStub() as dsa:
        settings = load_settings(
            environ={},
            overrides={
                "data_dir": str(tmp_path / "data"),
                "database_url": database_url,
                "auth_cache_seconds": 0,
                "operator_organisation": "hotline",
                "serve_workers": 0,
                "filings_ncmec_test_url": ncmec.url,
                "filings_dsa_sandbox_url": dsa.url,
            },
        )
        app, runtime = build_app(settings, refresh_in_background=False)
        with TestClient(app) as client:
            auth = runtime.auth
            for org in ("hotline", "platform", "other"):
                auth.ensure_organisation(org)
            day = timedelta(days=1)

            def key(org: str, role: Role) -> dict[str, str]:
                token = auth.issue_key(org, role, expires_in=day).token
                return {"Authorization": f"Bearer {token}"}

            yield client, runtime, key, ncmec, dsa


def test_a_platform_files_its_own_records_over_the_api(api):
    client, runtime, key, ncmec, dsa = api
    known = benign(1)
    runtime.banks.create_bank("known", owner="hotline", trust="auto", label="csam")
    runtime.banks.add_entry("known", EntryRecord(SignalType.SHA256, sha256(known)))
    for n in range(2):
        runtime.storage.events.emit(
            UploadChecked(
                at=T0 + timedelta(minutes=n),
                key_id="k",
                organisation="platform",
                outcome="block",
                match_type="exact",
                automated=True,
            )
        )
    first, second, other = (
        key("platform", Role.PLATFORM),
        key("platform", Role.PLATFORM),
        key("other", Role.PLATFORM),
    )
    profile = {
        "test_username_env": "NCMEC_TEST_USER",
        "test_password_env": "NCMEC_TEST_PASS",
        "reporter_email": "reports@platform.test",
        "approval": True,
    }
    put = client.put("/api/v1/filings/platform/profile/ncmec", json=profile, headers=first)
    assert put.status_code == 200, put.text
    put = client.put(
        "/api/v1/filings/platform/profile/dsa",
        json={"sandbox_token_env": "DSA_SANDBOX"},
        headers=first,
    )
    assert put.status_code == 200, put.text
    assert (
        client.put(
            "/api/v1/filings/platform/profile/dsa", json={"no_such": 1}, headers=first
        ).status_code
        == 400
    )

    unknown = {"sha256": sha256(benign(2)), "upload_ref": "u-2"}
    refused = client.post("/api/v1/filings/platform/cybertip", json=unknown, headers=first)
    assert refused.status_code == 409, refused.text
    body = {
        "sha256": sha256(known),
        "md5": md5(known),
        "upload_ref": "u-1",
        "user": {"esp_identifier": "account-77", "ip_events": [{"ip": "192.0.2.7"}]},
    }
    drafted = client.post("/api/v1/filings/platform/cybertip", json=body, headers=first)
    assert drafted.status_code == 201, drafted.text
    ref = drafted.json()["reference"]
    assert drafted.json()["state"] == "awaiting_approval"
    again = client.post("/api/v1/filings/platform/cybertip", json=body, headers=first)
    assert again.status_code == 409  # one report per upload

    assert client.get(f"/api/v1/filings/platform/cybertip/{ref}", headers=other).status_code == 404
    # Unicode digits pass str.isdigit() but not int(): a 400, not a 500 (schemathesis found it)
    for odd in ("%C2%B2", "CT-%D9%A3", "9" * 30):
        answer = client.get(f"/api/v1/filings/platform/cybertip/{odd}", headers=first)
        assert answer.status_code == 400, (odd, answer.text)
    assert (
        client.get("/api/v1/filings/platform/cybertip?limit=-1", headers=first).status_code == 400
    )
    same = client.post(f"/api/v1/filings/platform/cybertip/{ref}/approve", headers=first)
    assert same.status_code == 403  # a second person approves
    approved = client.post(f"/api/v1/filings/platform/cybertip/{ref}/approve", headers=second)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "ready"

    ran = client.post("/api/v1/filings/platform/run", headers=first)
    assert ran.status_code == 200, ran.text
    assert ran.json()["statements"]["sent"] == 2
    assert ran.json()["cybertip"]["finished"] == [ref]
    assert len(ncmec.finished_reports()) == 1
    assert len(dsa.created()) == 2
    counts = client.get("/api/v1/filings/platform/statements", headers=first).json()["counts"]
    assert counts["sent"] == 2
    assert (
        client.get("/api/v1/filings/platform/statements", headers=other).json()["counts"]["sent"]
        == 0
    )
    assert client.post("/api/v1/filings/platform/run", headers=other).json()["cybertip"] == {
        name: [] for name in ran.json()["cybertip"]
    }
    actions = {r.action for r in runtime.auth.audit_log.list_records(limit=100)}
    assert {"filings.profile", "filings.cybertip_draft", "filings.cybertip_approve"} <= actions
    assert "filings.run" in actions


def test_the_hotlines_records_of_a_period_in_one_answer(api):
    client, runtime, key, _ncmec, _dsa = api
    engine = runtime.storage.engine
    crawl = add_crawl(engine)
    FinanceObserver(SqlIndicatorStore(engine), Extractor())(Page(crawl))
    add_sighting(engine, crawl, "http://a.test/1", 1, "confirmed", T0)
    admin, analyst = key("hotline", Role.ADMIN), key("hotline", Role.ANALYST)
    goaml = {
        "rentity_id": 4711,
        "reporting_first_name": "Analyst",
        "reporting_last_name": "On Duty",
        "address": "1 Example Street",
        "city": "Exampleton",
        "country_code": "NL",
        "indicator_codes": ["CSAM1"],
    }
    put = client.put("/api/v1/filings/profiles/hotline/goaml", json=goaml, headers=admin)
    assert put.status_code == 200, put.text
    assert (
        client.put(
            "/api/v1/filings/profiles/hotline/goaml", json=goaml, headers=analyst
        ).status_code
        == 403
    )
    outsider = key("other", Role.ANALYST)
    assert (
        client.get("/api/v1/filings/goaml?organisation=hotline", headers=outsider).status_code
        == 403
    )

    referral = {"to": "law_enforcement", "organisation": "hotline", "recipient": "Example Police"}
    made = client.post("/api/v1/filings/referrals", json=referral, headers=analyst)
    assert made.status_code == 201, made.text
    year = made.json()["at"][:4]

    answer = client.get(
        f"/api/v1/filings/records?period={year}&organisation=hotline", headers=analyst
    )
    assert answer.status_code == 200, answer.text
    found = {r["name"]: r for r in answer.json()["records"]}
    assert set(found) == {
        f"flagger-{year}.json",
        f"flagger-{year}.csv",
        f"flagger-{year}.txt",
        f"regulator-{year}.json",
        f"regulator-{year}.csv",
        f"referrals-{year}.json",
        f"goaml-{year}.xml",
    }
    assert found[f"flagger-{year}.json"]["signature"]
    assert "Example Police" in found[f"referrals-{year}.json"]["text"]
    assert BTC in found[f"goaml-{year}.xml"]["text"]
    # the signed report is the one the transparency endpoint publishes
    published = client.get(
        f"/api/v1/transparency/flagger?period={year}&format=json", headers=analyst
    )
    assert published.headers["Keepdown-Signing-Key"]

    alone = client.get("/api/v1/filings/goaml?organisation=hotline", headers=analyst)
    assert alone.status_code == 200, alone.text
    assert alone.headers["content-type"].startswith("application/xml")
    assert "not checked" in alone.headers["Keepdown-Checked"]
    listed = client.get(f"/api/v1/filings/referrals?period={year}", headers=analyst).json()
    assert [r["recipient"] for r in listed["referrals"]] == ["Example Police"]
