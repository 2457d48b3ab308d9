"""The filing stores keep the same promises on SQLite, PostgreSQL and in memory: one report per
source, one winner per claim, a step settled only while it is still in flight (with its events),
profiles round-trip, and statements planned once, claimed in batches and settled per batch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from keepdown.errors import Conflict, NotFound
from keepdown.events import CyberTipDrafted, CyberTipStep, EventLog
from keepdown.filings.cybertip_model import (
    CyberTipDraft,
    FileFacts,
    IpEvent,
    ReportChange,
    ReportState,
    Source,
    Step,
)
from keepdown.filings.memory import MemoryCyberTips, MemoryStatements
from keepdown.filings.profiles import (
    DsaProfile,
    FilingProfile,
    MemoryProfiles,
    NcmecProfile,
)
from keepdown.filings.sor_model import PlannedStatement, StatementState

from .conftest import T0


@dataclass
class Stores:
    tips: Any
    statements: Any
    profiles: Any
    events: Any  # where the stores' events can be read back


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path) -> Iterator[Stores]:
    if request.param == "memory":
        log = EventLog()
        yield Stores(MemoryCyberTips(log), MemoryStatements(log), MemoryProfiles(), log)
        return
    from keepdown.storage import open_storage_url
    from keepdown.storage.filing_store import SqlCyberTips, SqlProfiles
    from keepdown.storage.statement_store import SqlStatements

    url = (
        f"sqlite:///{tmp_path / 'k.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    storage = open_storage_url(url)
    engine = storage.engine
    yield Stores(SqlCyberTips(engine), SqlStatements(engine), SqlProfiles(engine), storage.events)
    storage.close()


FACTS = FileFacts(
    sha256="a" * 64,
    md5="b" * 32,
    uploaded_at=T0,
    viewed=True,
    publicly_available=None,
    industry_classification="A2",
    preserved=True,
    ip_events=(IpEvent("192.0.2.1", at=T0, port=80, possible_proxy=True),),
)


def draft(ref: str = "u-1", files=(FACTS,)) -> CyberTipDraft:
    return CyberTipDraft(
        organisation="platform",
        source=Source.UPLOAD,
        source_ref=ref,
        environment="test",
        incident_at=T0,
        files=files,
        drafted_by="analyst",
    )


def drafted(r):
    return [
        CyberTipDrafted(
            at=T0,
            report_ref=r.reference,
            organisation=r.organisation,
            source="upload",
            environment="test",
        )
    ]


def kinds(stores: Stores) -> list[str]:
    return [e.kind for e in stores.events.read()]


def test_a_report_round_trips_with_its_files(stores: Stores):
    r = stores.tips.add(
        draft(files=(FACTS, FileFacts(sha256="c" * 64))),
        b"<report/>",
        ReportState.READY,
        T0,
        drafted,
    )
    again = stores.tips.get(r.id)
    assert again == r
    assert again.files[0].facts == FACTS
    assert again.report_xml == b"<report/>"
    assert stores.tips.find("platform", Source.UPLOAD, "u-1") == r
    assert stores.tips.find("platform", Source.UPLOAD, "u-2") is None
    assert kinds(stores) == ["cybertip_drafted"]
    with pytest.raises(NotFound):
        stores.tips.get(9999)


def test_one_report_per_source(stores: Stores):
    stores.tips.add(draft(), b"<report/>", ReportState.READY, T0, drafted)
    with pytest.raises(Conflict):
        stores.tips.add(draft(), b"<report/>", ReportState.READY, T0, drafted)
    assert len(stores.tips.select()) == 1
    assert kinds(stores) == ["cybertip_drafted"]  # the refused one left no event


def test_one_claim_wins_and_a_settlement_needs_its_step_in_flight(stores: Stores):
    r = stores.tips.add(draft(), b"<report/>", ReportState.READY, T0, drafted)
    assert stores.tips.due(T0) == [r.id]
    first = stores.tips.claim(r.id, Step.SUBMIT, T0, 60)
    assert first is not None
    assert first.in_flight is Step.SUBMIT
    assert stores.tips.claim(r.id, Step.SUBMIT, T0, 60) is None
    assert stores.tips.due(T0) == []
    event = CyberTipStep(
        at=T0, report_ref=r.reference, organisation="platform", environment="test", step="opened"
    )

    def opened(_cur):
        return ReportChange(
            report={
                "state": ReportState.OPEN,
                "ncmec_report_id": "77",
                "in_flight": None,
                "lease_expires": None,
            },
            events=[event],
        )

    assert stores.tips.apply(r.id, opened, in_flight=Step.UPLOAD) is None  # not this step
    done = stores.tips.apply(r.id, opened, in_flight=Step.SUBMIT)
    assert done is not None
    assert done.state is ReportState.OPEN
    assert done.ncmec_report_id == "77"
    assert stores.tips.apply(r.id, opened, in_flight=Step.SUBMIT) is None  # settled once
    assert kinds(stores) == ["cybertip_drafted", "cybertip_step"]


def test_file_changes_and_expired_leases(stores: Stores):
    r = stores.tips.add(draft(), b"<report/>", ReportState.OPEN, T0, drafted)
    f = r.files[0]
    stores.tips.claim(r.id, Step.UPLOAD, T0, 60)
    assert stores.tips.expired(T0 + timedelta(seconds=30)) == []
    [stale] = stores.tips.expired(T0 + timedelta(seconds=61))
    assert stale.id == r.id
    assert stale.in_flight is Step.UPLOAD
    change = ReportChange(
        report={"in_flight": None, "lease_expires": None},
        files={f.id: {"ncmec_file_id": "file-1", "uploaded": T0}},
    )
    updated = stores.tips.apply(r.id, lambda _cur: change, in_flight=Step.UPLOAD)
    assert updated is not None
    assert (updated.files[0].ncmec_file_id, updated.files[0].uploaded) == ("file-1", T0)
    assert updated.next_step() is not None
    assert updated.next_step()[0] is Step.FILEINFO


def test_a_decision_may_refuse_inside_the_transaction(stores: Stores):
    r = stores.tips.add(draft(), b"<report/>", ReportState.AWAITING_APPROVAL, T0, drafted)

    def refuse(_cur):
        raise Conflict("no")

    with pytest.raises(Conflict):
        stores.tips.apply(r.id, refuse)
    assert stores.tips.get(r.id).state is ReportState.AWAITING_APPROVAL


def test_profiles_round_trip(stores: Stores):
    profile = FilingProfile(
        "platform",
        ncmec=NcmecProfile(reporter_email="r@p.test", test_username_env="U", approval=True),
        dsa=DsaProfile(territorial_scope=("FR", "DE"), content_types=("CONTENT_TYPE_VIDEO",)),
        updated_at=T0,
        updated_by="admin",
    )
    stores.profiles.put(profile)
    assert stores.profiles.get("platform") == profile
    assert stores.profiles.get("nobody") is None
    changed = profile.with_changes("ncmec", {"approval": False})
    stores.profiles.put(changed)
    assert [p.ncmec.approval for p in stores.profiles.all()] == [False]


def planned(n: int, org: str = "platform", problems=()) -> PlannedStatement:
    return PlannedStatement(
        organisation=org,
        environment="sandbox",
        puid=f"kd-upload-{n:04d}",
        decision="upload_blocked",
        decided_at=T0,
        body={"puid": f"kd-upload-{n:04d}", "n": n},
        problems=tuple(problems),
    )


def test_statements_are_planned_once_and_claimed_in_batches(stores: Stores):
    s = stores.statements
    assert s.plan([planned(n) for n in range(5)] + [planned(9, problems=["bad"])], T0) == 6
    assert s.plan([planned(n) for n in range(7)], T0) == 2  # only 5 and 6 are new
    assert s.counts()["pending"] == 7
    assert s.counts()["invalid"] == 1
    assert s.waiting(T0) == [("platform", "sandbox")]
    batch = s.claim("platform", "sandbox", T0, 60, "b1", 4)
    assert [r.puid for r in batch] == [f"kd-upload-{n:04d}" for n in range(4)]
    assert all(r.state is StatementState.SENDING for r in batch)
    other = s.claim("platform", "sandbox", T0, 60, "b2", 100)
    assert len(other) == 3  # the first batch's are not claimed twice
    outcomes = {batch[0].id: {"state": StatementState.SENT, "batch": "", "sent_at": T0}}
    assert s.settle("b2", outcomes, []) == 0  # not in that batch
    assert s.settle("b1", outcomes, []) == 1
    assert s.settle("b1", outcomes, []) == 0  # settled once
    # the rest of b1 was abandoned: claimed again once its lease runs out
    assert s.claim("platform", "sandbox", T0 + timedelta(seconds=30), 60, "b3", 100) == []
    again = s.claim("platform", "sandbox", T0 + timedelta(seconds=61), 60, "b4", 100)
    assert len(again) == 6
    assert s.counts()["sent"] == 1
    assert [r.puid for r in s.select(states=[StatementState.SENT])] == ["kd-upload-0000"]


def test_a_sighting_and_its_reveals_are_read_from_the_database(stores: Stores):
    if isinstance(stores.tips, MemoryCyberTips):
        pytest.skip("SQL only")
    from sqlalchemy import insert

    from keepdown.storage.filing_facts import SqlFilingFacts
    from keepdown.storage.tables_access import audit_log
    from keepdown.storage.tables_crawl import sightings

    engine = stores.tips.engine
    row = {
        "sighting_key": "k1",
        "page_url": "https://host.test/p",
        "media_url": "https://host.test/m.jpg",
        "final_url": "https://host.test/m.jpg",
        "sha256": "a" * 64,
        "md5": "b" * 32,
        "sha1": "c" * 40,
        "size": 10,
        "http_status": 200,
        "seen_at": T0,
        "state": "confirmed",
    }
    audit = {"at": T0, "actor": "analyst", "details": {}, "target": "sighting:1"}
    with engine.begin() as conn:
        conn.execute(insert(sightings).values(**row))
        conn.execute(
            insert(sightings).values(**{**row, "sighting_key": "k2", "state": "pending_review"})
        )
        conn.execute(insert(audit_log).values(action="review.reveal", outcome="failed", **audit))
    facts = SqlFilingFacts(engine)
    first = facts.sighting(1)
    assert (first.confirmed, first.md5, first.revealed) == (True, "b" * 32, False)
    assert facts.sighting(2).confirmed is False
    with engine.begin() as conn:  # a reveal that was shown (settled ok) is a view
        conn.execute(insert(audit_log).values(action="review.reveal", outcome="ok", **audit))
    assert facts.sighting(1).revealed is True
    assert facts.sighting(2).revealed is False
    with pytest.raises(NotFound):
        facts.sighting(99)
