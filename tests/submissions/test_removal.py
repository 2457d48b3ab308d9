"""Removal requests and held uploads: the 48-hour clock from request to the last removal.

On SQLite, PostgreSQL and the in-memory twins (the ``platform`` fixture).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.events import (
    HoldDecided,
    RemovalItemFound,
    RemovalRequestClosed,
    RemovalRequested,
    RemovalRequestWithdrawn,
    UploadHeld,
)
from keepdown.submissions.evidence import evidence_pack, verify
from keepdown.submissions.holds import HoldMatch, HoldState, UploadHashes
from keepdown.submissions.requests import ClockState, FoundBy, Origin, RequestState
from tests.submissions.conftest import Platform, form, image


def test_a_persons_request_runs_a_48_hour_clock(platform: Platform) -> None:
    clock = platform.world.clock
    received = clock.now() - timedelta(hours=2)
    request = platform.removals.from_person(
        organisation="photoshare",
        content_refs=["uploads/a.jpg", " uploads/b.jpg ", "uploads/a.jpg"],
        by="trust-and-safety",
        description="my pictures, posted without my consent",
        contact="reply@example.org",
        received_at=received,
    )
    assert request.reference == f"RR-{request.id:06d}"
    assert request.origin is Origin.PERSON
    assert request.due_at == received + timedelta(hours=48)
    assert [i.content_ref for i in request.items] == ["uploads/a.jpg", "uploads/b.jpg"]
    assert {i.how for i in request.items} == {FoundBy.NAMED}
    assert request.clock(clock.now()) is ClockState.DUE
    [opened] = platform.world.log.of(RemovalRequested)
    assert opened.received_at == received
    assert len(platform.world.log.of(RemovalItemFound)) == 2
    a, b = request.items
    clock.advance(timedelta(hours=20))
    platform.removals.mark_removed(request.id, a.id, by="photoshare-key")
    assert platform.removals.get(request.id).state is RequestState.OPEN
    clock.advance(timedelta(hours=30))  # now 52 hours after it was received
    assert platform.removals.get(request.id).clock(clock.now()) is ClockState.OVERDUE
    platform.removals.mark_removed(request.id, b.id, by="photoshare-key")
    done = platform.removals.get(request.id)
    assert done.state is RequestState.CLOSED
    assert done.clock(clock.now()) is ClockState.CLOSED_LATE
    [closed] = platform.world.log.of(RemovalRequestClosed)
    assert closed.hours == pytest.approx(52.0)
    assert not closed.in_time


def test_requests_are_checked(platform: Platform) -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        platform.removals.from_person(organisation="photoshare", content_refs=[" "], by="x")
    with pytest.raises(InvalidInput, match="at most 50"):
        platform.removals.from_person(
            organisation="photoshare", content_refs=[f"u/{i}" for i in range(51)], by="x"
        )
    with pytest.raises(InvalidInput, match="future"):
        platform.removals.from_person(
            organisation="photoshare",
            content_refs=["u/1"],
            by="x",
            received_at=platform.world.clock.now() + timedelta(hours=1),
        )
    request = platform.removals.from_person(organisation="photoshare", content_refs=["u/1"], by="x")
    with pytest.raises(NotFound):
        platform.removals.get(request.id, organisation="elsewhere")
    with pytest.raises(NotFound):
        platform.removals.mark_removed(request.id, 9999, by="x")
    with pytest.raises(InvalidInput, match="say why"):
        platform.removals.dismiss(request.id, request.items[0].id, by="x", note=" ")


def hold_one(platform: Platform, seed: int = 1, sha: str | None = None):
    """Submit picture ``seed`` and hold an upload that matched its PDQ (rotated copy)."""
    receipt = platform.world.service.submit(form(image(seed)))
    bank = platform.world.banks.store.get_bank("self-submitted-minors")
    pdq = image(seed)["pdq"]["rotate90"]
    entry = platform.world.banks.store.get_entry(bank.id, "pdq", pdq)
    hold = platform.holds.hold_upload(
        organisation="photoshare",
        key_id="kd_platform",
        content_ref="uploads/new.jpg",
        hashes=UploadHashes(md5="c" * 32, sha256=sha or "d" * 64, pdq="e" * 64, quality=92),
        match=HoldMatch(bank.name, entry.id, "pdq", "near", 6, "rotate90"),
    )
    return receipt, hold


def test_a_held_upload_confirmed_opens_a_request_for_every_copy(platform: Platform) -> None:
    receipt, hold = hold_one(platform)
    assert hold.state is HoldState.HELD
    assert hold.verdict == "review"
    [held] = platform.world.log.of(UploadHeld)
    assert held.bank == "self-submitted-minors"
    # the same file again: the same hold, no second event
    _second_submission, again = hold_one(platform, seed=1)
    assert again == hold
    assert platform.holds.store.waiting() == [hold]
    assert len(platform.world.log.of(UploadHeld)) == 1
    platform.world.clock.advance(timedelta(hours=1))
    decided, request = platform.holds.decide(hold.id, analyst="ana", decision="confirm")
    assert decided.state is HoldState.CONFIRMED
    assert decided.verdict == "block"
    assert request.origin is Origin.SELF_SUBMISSION
    assert request.submission_id == receipt.submission.id
    assert request.received_at == platform.world.clock.now()  # the clock starts at the decision
    [upload] = request.items
    assert (upload.how, upload.content_ref, upload.match_type) == (
        FoundBy.UPLOAD,
        "uploads/new.jpg",
        "near",
    )
    looked_for = platform.removals.store.hashes(request.id)
    assert {v for s, v in looked_for if s == "pdq"} >= set(image(1)["pdq"].values())
    assert ("sha256", "d" * 64) in looked_for  # the upload's own, for identical copies
    [decision] = platform.world.log.of(HoldDecided)
    assert decision.request_id == str(request.id)
    with pytest.raises(Conflict):
        platform.holds.decide(hold.id, analyst="bob", decision="not_a_match")
    # the platform removes it: nothing is swept here, so the request closes in time
    platform.world.clock.advance(timedelta(hours=3))
    platform.removals.mark_removed(request.id, upload.id, by="kd_platform")
    closed = platform.removals.get(request.id)
    assert closed.clock(platform.world.clock.now()) is ClockState.CLOSED_IN_TIME
    [event] = platform.world.log.of(RemovalRequestClosed)
    assert event.hours == pytest.approx(3.0)


def test_not_a_match_lets_the_upload_through_and_opens_nothing(platform: Platform) -> None:
    _receipt, hold = hold_one(platform)
    decided, request = platform.holds.decide(hold.id, analyst="ana", decision="not_a_match")
    assert request is None
    assert decided.verdict == "allow"
    assert platform.removals.store.requests() == []
    with pytest.raises(InvalidInput):
        platform.holds.decide(hold.id, analyst="ana", decision="held")


def test_withdrawing_the_submission_ends_its_requests(platform: Platform) -> None:
    receipt, hold = hold_one(platform)
    _decided, request = platform.holds.decide(hold.id, analyst="ana", decision="confirm")
    platform.world.service.withdraw(receipt.case_number, receipt.pin)
    ended = platform.removals.get(request.id)
    assert ended.state is RequestState.WITHDRAWN
    assert ended.ended_reason == "the person withdrew their submission"
    assert ended.clock(platform.world.clock.now()) is ClockState.WITHDRAWN
    [event] = platform.world.log.of(RemovalRequestWithdrawn)
    assert event.request_id == str(request.id)
    with pytest.raises(Conflict):
        platform.removals.mark_removed(request.id, ended.items[0].id, by="x")


def test_a_confirmed_hold_without_its_request_gets_one(platform: Platform) -> None:
    _receipt, hold = hold_one(platform)
    # a crash between the decision and the request
    platform.holds.store.decide(
        hold.id, HoldState.CONFIRMED, by="ana", note="", now=platform.world.clock.now()
    )
    assert platform.holds.reconcile() == 1
    assert platform.holds.reconcile() == 0
    [request] = platform.removals.store.requests()
    assert request.hold_id == hold.id


def test_the_evidence_pack_says_what_was_removed_and_when(platform: Platform) -> None:
    receipt, hold = hold_one(platform)
    _decided, request = platform.holds.decide(hold.id, analyst="ana", decision="confirm")
    platform.world.clock.advance(timedelta(hours=5))
    platform.removals.mark_removed(
        request.id, request.items[0].id, by="kd_platform", note="deleted"
    )
    request = platform.removals.get(request.id)
    hashes = platform.removals.store.hashes(request.id)
    pack = evidence_pack(
        request, hashes, platform.world.log, now=platform.world.clock.now(), operator="hotline"
    )
    assert pack["request"]["clock"] == "closed-in-time"
    assert pack["request"]["hours_to_close"] == 5.0
    [copy] = pack["copies"]
    assert copy["removed_in_time"] is True
    assert copy["removed_by"] == "kd_platform"
    assert pack["looked_for"]["pdq"] == 9  # 8 rotations sent, and the upload's own
    kinds = [e["kind"] for e in pack["timeline"]]
    assert kinds[0] == "upload_held"
    assert "removal_request_closed" in kinds
    assert verify(pack)
    pack["copies"][0]["removed_at"] = None
    assert not verify(pack)
    text = str(pack)
    assert receipt.case_number.replace("-", "") not in text
    assert image(1)["pdq"]["original"] not in text  # no submitted hash value
