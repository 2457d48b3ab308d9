"""The CyberTipline outbox against the loopback stub of NCMEC's service: the documented
answers (success, out-of-order refusal, refused credentials, a busy service, a report NCMEC
deleted, an already-finished report) each lead to one finished report or an honest failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from keepdown.errors import Conflict, Forbidden, InvalidInput
from keepdown.events import CyberTipDrafted, CyberTipStep, ReferralMade
from keepdown.filings.cybertip_model import ReportState, Step
from keepdown.filings.profiles import FilingProfile

from .conftest import ENV, T0, World, benign, md5, ncmec_profile, service_factory, sha256


def steps(world: World) -> list[str]:
    return [e.step for e in world.events.events if isinstance(e, CyberTipStep)]


def test_a_preserved_upload_is_opened_uploaded_described_and_finished(world: World):
    report = world.upload(0)
    assert report.state is ReportState.READY
    assert report.reference == "CT-000001"
    done = world.outbox.run()
    assert done.opened == done.finished == ["CT-000001"]
    finished = world.store.get(report.id)
    assert finished.state is ReportState.FINISHED
    assert [name for name, _ in world.stub.calls] == ["submit", "upload", "fileinfo", "finish"]
    [at_ncmec] = world.stub.finished_reports()
    assert at_ncmec.report_id == finished.ncmec_report_id
    [sent] = at_ncmec.files.values()
    assert sent.data == benign(0)  # the preserved bytes, checked against their name
    details = ET.fromstring(sent.details)
    assert details.findtext("fileId") == sent.file_id
    assert details.findtext("industryClassification") == "A1"  # the entry's own label
    assert details.findtext("fileViewedByEsp") == "false"  # the platform's word: not viewed
    assert steps(world) == ["opened", "file_uploaded", "file_described", "finished"]
    # the test service discards reports: no referral is counted
    assert not [e for e in world.events.events if isinstance(e, ReferralMade)]


def test_a_production_report_is_a_referral(world: World):
    world.profiles.put(FilingProfile("platform", ncmec=ncmec_profile(environment="production")))
    report = world.upload(0)
    world.outbox.run()
    [referral] = [e for e in world.events.events if isinstance(e, ReferralMade)]
    assert referral.to == "ncmec"
    assert referral.reference == world.store.get(report.id).ncmec_report_id
    assert (referral.source, referral.items, referral.organisation) == ("upload", 1, "platform")


def test_an_upload_nobody_preserved_is_reported_by_its_hashes(world: World):
    report = world.upload(1, preserved=False)
    world.outbox.run()
    assert [name for name, _ in world.stub.calls] == ["submit", "finish"]
    [at_ncmec] = world.stub.finished_reports()
    assert not at_ncmec.files
    info = ET.fromstring(at_ncmec.xml).findtext("additionalInfo") or ""
    assert report.files[0].facts.sha256 in info


def test_only_a_confirmed_match_is_drafted(world: World):
    data = benign(5)
    from keepdown.filings.cybertip_draft import UploadFacts

    with pytest.raises(Conflict, match="not a confirmed match"):
        world.drafter.upload("platform", "a", UploadFacts(sha256=sha256(data), md5=md5(data)))
    with pytest.raises(InvalidInput, match="sha256"):
        world.drafter.upload("platform", "a", UploadFacts(sha256="xyz"))
    with pytest.raises(InvalidInput, match="no NCMEC filing profile"):
        world.drafter.upload("other", "a", UploadFacts(sha256=sha256(data)))
    assert not world.store.reports


def test_the_same_upload_is_reported_once(world: World):
    first = world.upload(0)
    with pytest.raises(Conflict) as raised:
        world.upload(0)
    assert raised.value.details["reference"] == first.reference


def test_a_document_out_of_order_is_refused_and_the_report_fails(world: World):
    report = world.upload(0)
    # a report whose elements are out of order reaches the service (as a stored report might
    # if keepdown's own schema had a gap): NCMEC answers 4100 and the report fails, once
    root = ET.fromstring(report.report_xml)
    first = root[0]
    root.remove(first)
    root.append(first)
    world.store.reports[report.id] = world.store.reports[report.id].__class__(
        **{**world.store.reports[report.id].__dict__, "report_xml": ET.tostring(root)}
    )
    done = world.outbox.run()
    failed = world.store.get(report.id)
    assert done.failed == [report.reference]
    assert failed.state is ReportState.FAILED
    assert failed.last_code == "4100"
    assert world.stub.count("submit") == 1
    assert not world.stub.reports


def test_refused_credentials_fail_without_retrying(world: World):
    world.stub.password = "changed-at-ncmec"
    report = world.upload(0)
    done = world.outbox.run()
    failed = world.store.get(report.id)
    assert done.failed == [report.reference]
    assert failed.state is ReportState.FAILED
    assert "credentials" in failed.last_error
    world.clock.advance(timedelta(hours=1))
    world.outbox.run()
    assert world.stub.calls == [("submit", "unauthorised")]


def test_a_missing_credential_waits_for_the_operator(world: World, stub):
    world.outbox.service_for = service_factory(world.profiles, stub.url, environ={})
    report = world.upload(0)
    done = world.outbox.run()
    waiting = world.store.get(report.id)
    assert done.retrying == [report.reference]
    assert waiting.state is ReportState.READY
    assert "TEST_USER" in waiting.last_error
    assert "esp-" not in waiting.last_error
    assert not world.stub.calls


@pytest.mark.parametrize("fault", ["503", "drop", "1000"])
def test_a_busy_service_is_tried_again_later(world: World, fault):
    world.stub.faults["upload"] = [fault]
    report = world.upload(0)
    done = world.outbox.run()
    assert done.retrying == [report.reference]
    waiting = world.store.get(report.id)
    assert waiting.state is ReportState.OPEN
    assert waiting.attempts == 1
    assert world.outbox.run().retrying == []  # not before the back-off
    world.clock.advance(timedelta(seconds=11))
    world.outbox.run()
    assert world.store.get(report.id).state is ReportState.FINISHED
    [at_ncmec] = world.stub.finished_reports()
    assert len(at_ncmec.files) == 1


def test_a_step_that_keeps_failing_withdraws_the_report(world: World):
    world.stub.faults["fileinfo"] = ["503"] * 3
    report = world.upload(0)
    for _ in range(4):
        world.outbox.run()
        world.clock.advance(timedelta(minutes=5))
    failed = world.store.get(report.id)
    assert failed.state is ReportState.FAILED
    assert "fileinfo" in failed.last_error
    [at_ncmec] = world.stub.reports.values()
    assert at_ncmec.retracted
    assert not at_ncmec.finished
    assert steps(world)[-2:] == ["failed", "retracted"]


def test_a_report_ncmec_deleted_is_opened_again(world: World):
    world.stub.faults["upload"] = ["503"]
    report = world.upload(0)
    world.outbox.run()
    world.stub.expire(world.store.get(report.id).ncmec_report_id)  # NCMEC's time-out
    world.clock.advance(timedelta(seconds=11))
    done = world.outbox.run()
    assert done.restarted == [report.reference]
    assert done.finished == [report.reference]
    finished = world.store.get(report.id)
    assert finished.restarts == 1
    assert len(world.stub.finished_reports()) == 1
    assert world.stub.finished_reports()[0].report_id == finished.ncmec_report_id


def test_a_lost_finish_answer_counts_as_finished_when_ncmec_says_so(world: World):
    report = world.upload(0)
    world.stub.faults["finish"] = ["drop"]
    world.outbox.run()
    at_ncmec = world.stub.reports[world.store.get(report.id).ncmec_report_id]
    at_ncmec.finished = True  # NCMEC finished it; the answer was lost on the way back
    world.clock.advance(timedelta(seconds=11))
    done = world.outbox.run()
    assert done.finished == [report.reference]
    assert world.stub.count("finish") == 2
    assert len(world.stub.finished_reports()) == 1


def test_a_second_person_approves_before_anything_is_sent(world: World):
    world.profiles.put(FilingProfile("platform", ncmec=ncmec_profile(approval=True)))
    report = world.upload(0)
    assert report.state is ReportState.AWAITING_APPROVAL
    world.outbox.run()
    assert not world.stub.calls
    with pytest.raises(Forbidden, match="second person"):
        world.outbox.approve(report.id, "analyst-1")
    approved = world.outbox.approve(report.id, "analyst-2")
    assert approved.state is ReportState.READY
    assert approved.approved_by == "analyst-2"
    with pytest.raises(Conflict):
        world.outbox.approve(report.id, "analyst-3")
    world.outbox.run()
    assert world.store.get(report.id).state is ReportState.FINISHED
    drafted = [e for e in world.events.events if isinstance(e, CyberTipDrafted)]
    assert drafted[0].approval is True


def test_an_unsent_report_can_be_cancelled_and_an_open_one_withdrawn(world: World):
    first = world.upload(0)
    assert world.outbox.cancel(first.id, "a").state is ReportState.CANCELLED
    second = world.upload(1)
    world.stub.faults["upload"] = ["503"]
    world.outbox.run()
    world.outbox.withdraw(second.id, "analyst-2")
    with pytest.raises(Conflict):
        world.outbox.cancel(second.id, "a")
    world.outbox.run()
    withdrawn = world.store.get(second.id)
    assert withdrawn.state is ReportState.RETRACTED
    assert world.stub.reports[withdrawn.ncmec_report_id].retracted
    assert not world.stub.finished_reports()


def test_a_failed_report_is_sent_again_as_a_new_report(world: World):
    world.stub.password = "wrong"
    report = world.upload(0)
    world.outbox.run()
    assert world.store.get(report.id).state is ReportState.FAILED
    world.stub.password = "esp-password"
    assert world.outbox.retry(report.id, "analyst-2").state is ReportState.READY
    world.outbox.run()
    assert world.store.get(report.id).state is ReportState.FINISHED
    assert len(world.stub.finished_reports()) == 1


def test_a_stalled_open_report_is_withdrawn_before_ncmecs_time_out(world: World):
    world.stub.faults["upload"] = ["503"]
    report = world.upload(0)
    world.outbox.run()
    first_id = world.store.get(report.id).ncmec_report_id
    # the next attempt is due in 10 s, but the worker does not come back for 50 minutes
    world.clock.advance(timedelta(minutes=50))
    done = world.outbox.run()
    assert done.retracted == [report.reference]
    assert done.finished == [report.reference]
    assert world.stub.reports[first_id].retracted
    assert world.store.get(report.id).ncmec_report_id != first_id
    assert len(world.stub.finished_reports()) == 1


@pytest.mark.parametrize("step", list(Step))
def test_a_dead_senders_step_is_recovered_after_its_lease(world: World, step):
    report = world.upload(0)
    if step is not Step.SUBMIT:
        world.stub.faults["fileinfo"] = ["503"]
        world.outbox.run()  # open, uploaded, waiting to describe
    current = world.store.get(report.id)
    if step is Step.RETRACT:
        world.outbox.withdraw(report.id, "a")
    claimed = world.store.claim(report.id, step, world.clock.now(), 60)
    assert claimed is not None  # a sender claimed it ... and died
    assert world.outbox.run().recovered == []  # the lease still holds
    world.clock.advance(timedelta(minutes=2))
    done = world.outbox.run()
    assert done.recovered == [report.reference]
    final = world.store.get(report.id)
    expected = ReportState.RETRACTED if step is Step.RETRACT else ReportState.FINISHED
    assert final.state is expected
    finished = world.stub.finished_reports()
    if expected is ReportState.FINISHED:
        assert len(finished) == 1
        assert len(finished[0].files) == 1
    if step is Step.UPLOAD:  # the report that may hold the file twice was withdrawn
        assert world.stub.reports[current.ncmec_report_id].retracted


def test_a_confirmed_sighting_is_reported_only_when_the_operator_turns_it_on(world: World):
    from keepdown.filings.cybertip_draft import SightingFacts

    world.sightings.items[7] = SightingFacts(
        sighting_id=7,
        media_url="https://host.test/m/1.jpg",
        page_url="https://host.test/page",
        seen_at=T0,
        sha256="a" * 64,
        confirmed=True,
        label="b1",
        revealed=True,
    )
    with pytest.raises(Forbidden, match="sightings"):
        world.drafter.sighting("platform", "a", 7)
    world.profiles.put(FilingProfile("platform", ncmec=ncmec_profile(sightings=True)))
    report = world.drafter.sighting("platform", "a", 7)
    root = ET.fromstring(report.report_xml)
    assert [u.text for u in root.iter("url")] == [
        "https://host.test/page",
        "https://host.test/m/1.jpg",
    ]
    assert report.files[0].facts.viewed is True  # an analyst revealed it
    assert report.files[0].facts.industry_classification == "B1"
    world.outbox.run()
    assert world.store.get(report.id).state is ReportState.FINISHED


def test_credentials_never_reach_an_answer_or_a_message(world: World):
    world.stub.password = "wrong"
    report = world.upload(0)
    world.outbox.run()
    text = repr(world.store.get(report.id).summary()) + repr(world.events.events)
    assert all(secret not in text for secret in ENV.values())
