"""``keepdown feed`` end to end: a feed added from the command line fetches a loopback NCMEC
fake into its bank, shows where it stands without its secrets, is changed, resynced and
removed; quarantines are listed and lifted; a negative bank silences a feed; every change is
audited (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from keepdown.app import Runtime
from keepdown.cli import cli
from keepdown.events import ReviewDecided
from keepdown.exchanges.fakes import FakeNcmec, FakeStopNcii, NcmecEntry
from keepdown.settings import load_settings
from tests.exchanges.conftest import ENV, EPOCH

MD5S = [f"{i:02x}" * 16 for i in range(1, 6)]


@pytest.fixture
def fake() -> Iterator[FakeNcmec]:
    with FakeNcmec(page_size=2) as made:
        made.put(
            NcmecEntry(42, f"e{i}", EPOCH + i, fingerprints={"md5": md5})
            for i, md5 in enumerate(MD5S)
        )
        yield made


@pytest.fixture
def invoke(database_url: str, tmp_path: Path) -> Callable[..., Result]:
    env = {**ENV, "KEEPDOWN_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str, fails: bool = False) -> Result:
        result = CliRunner(env=env).invoke(cli, ["--database-url", database_url, *args])
        assert (result.exit_code != 0) == fails, result.output
        return result

    return run


def _runtime(database_url: str, tmp_path: Path) -> Runtime:
    return Runtime(
        load_settings(overrides={"database_url": database_url, "data_dir": str(tmp_path / "data")})
    )


def test_a_feed_from_the_command_line(
    invoke: Callable[..., Result], fake: FakeNcmec, database_url: str, tmp_path: Path
) -> None:
    added = json.loads(
        invoke(
            "feed", "add", "ncmec", "--kind", "ncmec", "--url", fake.url,
            "--secret", "username=NCMEC_USER", "--secret", "password=NCMEC_PASSWORD",
            "--option", "lag_seconds=0", "--every", "600", "--quality-floor", "60",
        ).output
    )  # fmt: skip
    assert added["kind"] == "ncmec"
    assert added["secrets"] == {"username": "$NCMEC_USER", "password": "$NCMEC_PASSWORD"}
    assert added["guards"] == {"low_information": True, "quality_floor": 60}
    invoke("feed", "add", "bad", "--kind", "ncmec", "--option", "nonsense=1", fails=True)

    ran = json.loads(invoke("feed", "run", "ncmec").output)
    assert (ran["status"], ran["caught_up"], ran["added"]) == ("idle", True, len(MD5S))
    shown = invoke("feed", "show", "ncmec").output
    assert json.loads(shown)["records"] == {"live": len(MD5S), "withdrawn": 0}
    assert ENV["NCMEC_PASSWORD"] not in shown
    listed = invoke("feed", "list").output
    assert listed.startswith("ncmec\tncmec\tidle\t")

    # NCMEC withdraws e0 now (its windows are of last-change times: the deletion's second
    # must be after the first run's end, and before the next run's).
    time.sleep(1.1)
    fake.put([NcmecEntry(42, "e0", int(time.time()), deleted=True)])
    time.sleep(1.1)
    assert json.loads(invoke("feed", "run", "ncmec").output)["removed"] == 1
    changed = json.loads(invoke("feed", "update", "ncmec", "--no-guard", "--every", "900").output)
    assert changed["every_seconds"] == 900
    assert changed["guards"]["low_information"] is False
    assert changed["records"] == {"live": len(MD5S) - 1, "withdrawn": 1}
    assert "generation 1" in invoke("feed", "resync", "ncmec").output
    invoke("feed", "skip", "ncmec", "60", fails=True)  # not stalled: nothing to skip

    # The defence: a negative bank silencing the feed; quarantines listed and lifted.
    invoke("bank", "create", "benign")
    assert "silencing ncmec" in invoke("feed", "negative", "benign", "--silences", "ncmec").output
    runtime = _runtime(database_url, tmp_path)
    try:
        bank = runtime.storage.banks.get_bank("ncmec")
        entry = runtime.storage.banks.get_entry(bank.id, "md5", MD5S[1])
        runtime.exchanges.quarantine_store.open(entry.id, 50, 0.0, 50, 3600, runtime.clock.now())
    finally:
        runtime.close()
    assert f"{entry.id}\tncmec\tmd5\tactive" in invoke("feed", "quarantines").output
    invoke("feed", "lift", str(entry.id), "--analyst", "ana", "--note", "benign test card")
    assert "\tlifted\t" in invoke("feed", "quarantines", "--state", "lifted").output

    invoke("feed", "remove", "ncmec")
    assert "no feeds" in invoke("feed", "list").output
    runtime = _runtime(database_url, tmp_path)
    try:
        actions = [r.action for r in runtime.auth.audit_log.list_records(limit=100)]
        events = [e.kind for e in runtime.storage.events.read("quarantine_lifted")]
    finally:
        runtime.close()
    for action in ("feed.add", "feed.run", "feed.update", "feed.resync", "feed.negative"):
        assert action in actions
    assert "feed.quarantine.lift" in actions
    assert "feed.remove" in actions
    assert events == ["quarantine_lifted"]


def test_feedback_and_write_back_from_the_command_line(
    invoke: Callable[..., Result], fake: FakeNcmec, database_url: str, tmp_path: Path
) -> None:
    """``feed outbox send`` plans an analyst's "not a match" as one negative NCMEC vote, sent
    once; ``feed publish`` opts a bank of our own in and the same pass submits it to StopNCII,
    audited per submission."""
    invoke(
        "feed", "add", "ncmec", "--kind", "ncmec", "--url", fake.url, "--feedback",
        "--secret", "username=NCMEC_USER", "--secret", "password=NCMEC_PASSWORD",
        "--option", "lag_seconds=0",
    )  # fmt: skip
    invoke("feed", "run", "ncmec")
    runtime = _runtime(database_url, tmp_path)
    try:
        bank = runtime.storage.banks.get_bank("ncmec")
        entry = runtime.storage.banks.get_entry(bank.id, "md5", MD5S[2])
        runtime.storage.events.emit(
            ReviewDecided(
                at=runtime.clock.now(),
                sighting_id="1",
                decision="not_a_match",
                bank="ncmec",
                analyst="ana",
                entry_id=entry.id,
                distance=0,
                match_type="exact",
            )
        )
    finally:
        runtime.close()
    sent = json.loads(invoke("feed", "outbox", "send").output)
    assert (sent["planned"], len(sent["sent"])) == (1, 1)
    assert fake.votes == {(7, 42, "e2", "MD5"): ("down", "a1b2c3d4-0000-4000-8000-000000000002")}
    again = json.loads(invoke("feed", "outbox", "send").output)
    assert (again["planned"], again["sent"]) == (0, [])
    assert fake.feedback_requests == 1
    assert "\tsent\t" in invoke("feed", "outbox", "list").output

    with FakeStopNcii() as stopncii:
        invoke(
            "feed", "add", "sncii", "--kind", "stopncii", "--url", stopncii.url,
            "--secret", "subscription_key=STOPNCII_SUBSCRIPTION",
            "--secret", "fetch_key=STOPNCII_FETCH", "--secret", "submit_key=STOPNCII_SUBMIT",
        )  # fmt: skip
        invoke("bank", "create", "ours")
        pdq = "c4647159c324c9859b810e766ec9d28663ca828dd5f4b3b2e4b06ce60741c7a8"
        hashes = tmp_path / "ours.txt"
        hashes.write_text(f"{pdq}\n")
        invoke("bank", "import", "ours", str(hashes), "--signal-type", "pdq", "-q")
        invoke("feed", "publish", "ncmec", "--to", "sncii", fails=True)  # a feed's bank: never
        assert "published to sncii" in invoke("feed", "publish", "ours", "--to", "sncii").output
        sent = json.loads(invoke("feed", "outbox", "send").output)
        assert len(sent["sent"]) == 1
        assert [r["hashValue"] for r in stopncii.submitted] == [pdq]
    runtime = _runtime(database_url, tmp_path)
    try:
        actions = {r.action for r in runtime.auth.audit_log.list_records(limit=100)}
    finally:
        runtime.close()
    assert {"feed.publish", "feed.outbox.send", "exchange.submit"} <= actions
