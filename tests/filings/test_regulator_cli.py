"""``keepdown regulator``: a platform's and a hotline's records, each from one command, on a
real database, against the loopback stubs of NCMEC's reporting service and of the DSA
Transparency Database.

- the platform: a filing profile (NCMEC test credentials, a sandbox token by variable name),
  a report drafted from an upload the match chain confirms (one that it does not confirm is
  refused), then ``keepdown regulator file``: the statements of reasons of its blocked uploads
  reach the database and the report reaches NCMEC, each once (a second pass sends nothing);
- the hotline: a referral recorded, a sighting reported to NCMEC, and ``keepdown regulator
  hotline``: the trusted flagger's report and the regulator view signed (``keepdown report
  verify`` accepts them), the referrals, and the goAML report of its payment indicators.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from keepdown.app.runtime import Runtime
from keepdown.banks.records import EntryRecord
from keepdown.cli import cli
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

ENV = {
    "NCMEC_TEST_USER": "esp-user",
    "NCMEC_TEST_PASS": "esp-password",
    "DSA_SANDBOX": "sandbox-token",
}
BTC = next(iter(BASE58_VALID))


@pytest.fixture
def stubs():
    with CyberTipStub() as ncmec, DsaStub() as dsa:
        yield ncmec, dsa


@pytest.fixture
def run(database_url, tmp_path, stubs):
    ncmec, dsa = stubs
    statement = tmp_path / "independence.txt"
    statement.write_text("The hotline decides alone; no platform funds it.\n")
    env = {
        **ENV,
        "KEEPDOWN_DATA_DIR": str(tmp_path / "data"),
        "KEEPDOWN_FILINGS_NCMEC_TEST_URL": ncmec.url,
        "KEEPDOWN_FILINGS_DSA_SANDBOX_URL": dsa.url,
        "KEEPDOWN_FILINGS_FLAGGER_STATEMENT_FILE": str(statement),
    }

    def invoke(*args: str):
        result = CliRunner(env=env).invoke(cli, ["--database-url", database_url, *args])
        return result

    return invoke


def seed(database_url: str, tmp_path: Path) -> Runtime:
    settings = load_settings(
        overrides={"database_url": database_url, "data_dir": str(tmp_path / "data")}
    )
    return Runtime(settings)


def ok(result) -> dict | list:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_platform_files_its_records_with_one_command(run, database_url, tmp_path, stubs):
    ncmec, dsa = stubs
    known = benign(1)
    runtime = seed(database_url, tmp_path)
    try:
        runtime.auth.ensure_organisation("platform")
        # the operator's bank: only the operator decides what is acted on (issue 16)
        operator = runtime.settings.operator_organisation
        runtime.auth.ensure_organisation(operator)
        runtime.banks.create_bank("known", owner=operator, trust="auto", label="csam")
        runtime.banks.add_entry("known", EntryRecord(SignalType.SHA256, sha256(known)))
        for n in range(3):  # three uploads the platform blocked with keepdown's verdict
            runtime.storage.events.emit(
                UploadChecked(
                    at=T0 + timedelta(minutes=n),
                    key_id="key-1",
                    organisation="platform",
                    outcome="block",
                    match_type="exact",
                    automated=True,
                )
            )
    finally:
        runtime.close()
    ok(
        run(
            "regulator",
            "profile",
            "set",
            "platform",
            "ncmec",
            "test_username_env=NCMEC_TEST_USER",
            "test_password_env=NCMEC_TEST_PASS",
            "reporter_email=reports@platform.test",
            "company_template=Platform",
        )
    )
    shown = ok(
        run("regulator", "profile", "set", "platform", "dsa", "sandbox_token_env=DSA_SANDBOX")
    )
    assert shown["dsa"]["sandbox_token_env"] == "DSA_SANDBOX"
    assert "sandbox-token" not in json.dumps(shown)  # a variable's name, never its value

    unknown = benign(2)
    refused = run("regulator", "ncmec", "upload", "platform", "--sha256", sha256(unknown))
    assert refused.exit_code != 0
    assert "not a confirmed match" in refused.output
    drafted = ok(
        run(
            "regulator",
            "ncmec",
            "upload",
            "platform",
            "--sha256",
            sha256(known),
            "--md5",
            md5(known),
            "--upload-ref",
            "upload-1",
            "--user-id",
            "account-77",
        )
    )
    assert drafted["state"] == "ready"

    done = ok(run("regulator", "file"))
    assert done["statements"]["sent"] == 3
    assert done["cybertip"]["finished"] == [drafted["reference"]]
    assert len(dsa.created()) == 3
    (finished,) = ncmec.finished_reports()
    assert b"account-77" in finished.xml

    again = ok(run("regulator", "file"))
    assert again["statements"]["sent"] == 0
    assert again["cybertip"]["finished"] == []
    assert len(ncmec.finished_reports()) == 1
    listed = ok(run("regulator", "statements", "--organisation", "platform"))
    assert listed["counts"]["sent"] == 3
    reports = ok(run("regulator", "ncmec", "list"))
    assert [r["state"] for r in reports] == ["finished"]
    xml = run("regulator", "ncmec", "show", drafted["reference"], "--xml")
    assert xml.exit_code == 0
    assert ET.fromstring(xml.stdout).tag == "report"

    # NCMEC's own schema, fetched with the platform's credentials, checks the stored report
    # (the stub serves keepdown's schema as its own; a real deployment gets NCMEC's)
    from keepdown.filings.validate import _schema_path

    ncmec.schema_document = _schema_path("cybertip.xsd").read_bytes()
    fetched = tmp_path / "ncmec.xsd"
    got = run("regulator", "ncmec", "schema", "platform", "-o", str(fetched))
    assert got.exit_code == 0, got.output
    assert fetched.read_bytes() == ncmec.schema_document
    checked = run("regulator", "ncmec", "check", drafted["reference"], "--schema", str(fetched))
    assert checked.exit_code == 0, checked.output
    strict = tmp_path / "strict.xsd"
    strict.write_bytes(
        b"<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"
        b"<xs:element name='somethingElse'/></xs:schema>"
    )
    refused = run("regulator", "ncmec", "check", drafted["reference"], "--schema", str(strict))
    assert refused.exit_code == 65


def test_a_hotline_writes_its_records_of_a_period_with_one_command(
    run, database_url, tmp_path, stubs
):
    ncmec, _dsa = stubs
    runtime = seed(database_url, tmp_path)
    try:
        runtime.auth.ensure_organisation("hotline")
        engine = runtime.storage.engine
        crawl = add_crawl(engine)
        observer = FinanceObserver(SqlIndicatorStore(engine), Extractor())
        page = type(
            "Page",
            (),
            {
                "crawl_id": str(crawl),
                "page_url": "http://a.test/1",
                "final_url": "http://a.test/1",
                "fetched_at": T0,
                "status": 200,
                "server_ip": "127.0.0.1",
                "text": f"pay {BTC}",
            },
        )()
        observer(page)
        add_sighting(engine, crawl, "http://a.test/1", 1, "confirmed", T0)
        sighting_id = int(
            engine.connect().exec_driver_sql("SELECT max(id) FROM sightings").scalar_one()
        )
    finally:
        runtime.close()
    ok(
        run(
            "regulator",
            "profile",
            "set",
            "hotline",
            "ncmec",
            "test_username_env=NCMEC_TEST_USER",
            "test_password_env=NCMEC_TEST_PASS",
            "reporter_email=analysts@hotline.test",
            "sightings=true",
        )
    )
    ok(
        run(
            "regulator",
            "profile",
            "set",
            "hotline",
            "goaml",
            "rentity_id=4711",
            "reporting_first_name=Analyst",
            "reporting_last_name=On Duty",
            "address=1 Example Street",
            "city=Exampleton",
            "country_code=NL",
            "state=North Holland",
            "indicator_codes=CSAM1",
        )
    )
    reported = ok(run("regulator", "ncmec", "sighting", "hotline", str(sighting_id)))
    assert ok(run("regulator", "file", "--organisation", "hotline"))["cybertip"]["finished"] == [
        reported["reference"]
    ]
    assert b"http://a.test/1" in ncmec.finished_reports()[0].xml
    referral = ok(
        run(
            "regulator",
            "refer",
            "--to",
            "law_enforcement",
            "--organisation",
            "hotline",
            "--recipient",
            "Example Police",
            "--reference",
            "case-9",
            "--items",
            "2",
        )
    )
    assert referral["to"] == "law_enforcement"

    year = str(referral["at"])[:4]
    folder = tmp_path / "records"
    wrote = run(
        "regulator", "hotline", "--period", year, "-o", str(folder), "--organisation", "hotline"
    )
    assert wrote.exit_code == 0, wrote.output
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            f"flagger-{year}.json",
            f"flagger-{year}.json.sig",
            f"flagger-{year}.csv",
            f"flagger-{year}.csv.sig",
            f"flagger-{year}.txt",
            f"flagger-{year}.txt.sig",
            f"regulator-{year}.json",
            f"regulator-{year}.json.sig",
            f"regulator-{year}.csv",
            f"regulator-{year}.csv.sig",
            f"referrals-{year}.json",
            f"goaml-{year}.xml",
        ]
    )
    for name in (f"flagger-{year}.json", f"regulator-{year}.csv"):
        verified = run("report", "verify", str(folder / name))
        assert verified.exit_code == 0, verified.output
    flagger = json.loads((folder / f"flagger-{year}.json").read_text())
    assert flagger["independence"] == "The hotline decides alone; no platform funds it."
    view = json.loads((folder / f"regulator-{year}.json").read_text())
    rows = view["rows"] if isinstance(view, dict) and "rows" in view else view
    assert "reports_to_ncmec_or_law_enforcement" in json.dumps(rows)
    referrals = json.loads((folder / f"referrals-{year}.json").read_text())["referrals"]
    assert [r["recipient"] for r in referrals] == ["Example Police"]
    goaml = ET.fromstring((folder / f"goaml-{year}.xml").read_bytes())
    assert goaml.findtext("activity/report_parties/report_party/account/account") == BTC
    assert "a.test" not in (folder / f"goaml-{year}.xml").read_text()  # never a page's URL
    digest = hashlib.sha256((folder / f"goaml-{year}.xml").read_bytes()).hexdigest()
    assert len(digest) == 64
