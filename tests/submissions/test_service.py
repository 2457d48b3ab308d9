"""Submit, check and withdraw on real storage: the bank follows the submissions exactly.

Every test runs on SQLite and PostgreSQL, with the SQL submission store and its in-memory
twin (the ``world`` fixture).
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from keepdown.banks.model import TrustLevel
from keepdown.errors import AuthError, InvalidInput, RateLimited
from keepdown.events import (
    BankEntryRemoved,
    SelfSubmissionReceived,
    SelfSubmissionWithdrawn,
)
from keepdown.submissions import (
    HOTLINE_ONLY_SOURCE,
    PROGRAMME_SOURCE,
    Programme,
    Status,
    is_self_submitted,
    platforms_may_use,
)
from tests.submissions.conftest import World, form, image, video


def active_entries(world: World, bank: str) -> set[tuple[str, str]]:
    found = world.banks.store.get_bank(bank)
    return {
        (str(e.signal_type), e.value)
        for e in world.banks.store.iter_entries(found.id, include_removed=False)
    }


def test_a_submission_lands_in_its_programme_bank_at_review_trust(world: World) -> None:
    receipt = world.service.submit(form(image(1), video(2), age="13-15"))
    assert receipt.case_number.count("-") == 2
    assert receipt.submission.status is Status.ACTIVE
    assert (receipt.submission.images, receipt.submission.videos) == (1, 1)
    assert receipt.submission.hashes == 12
    bank = world.banks.store.get_bank("self-submitted-minors")
    assert receipt.submission.bank == bank.name
    assert bank.trust is TrustLevel.REVIEW
    assert bank.source == PROGRAMME_SOURCE
    assert is_self_submitted(bank)
    assert platforms_may_use(bank)
    assert bank.classification is not None
    assert bank.classification.category.value == "csam"
    assert len(active_entries(world, bank.name)) == 12
    # what the event log says: counts, never a hash or the case number
    [received] = world.log.of(SelfSubmissionReceived)
    assert (received.programme, received.images, received.videos, received.hashes) == (
        "minors",
        1,
        1,
        12,
    )
    flat = json.dumps(received.to_dict())
    assert receipt.case_number.replace("-", "") not in flat
    assert image(1)["sha256"] not in flat


def test_adults_and_hotline_only_go_to_their_own_banks(world: World) -> None:
    world.service.submit(form(image(1), age="18-plus"))
    world.service.submit(form(image(2), age="not-said", share=False))
    adults = world.banks.store.get_bank("self-submitted-adults")
    private = world.banks.store.get_bank("self-submitted-minors-hotline")
    assert adults.classification.category.value == "other"
    assert private.source == HOTLINE_ONLY_SOURCE
    assert is_self_submitted(private)
    assert not platforms_may_use(private)
    assert len(active_entries(world, adults.name)) == 10
    assert len(active_entries(world, private.name)) == 10


def test_the_pin_opens_the_case_and_nothing_else_does(world: World) -> None:
    receipt = world.service.submit(form(image(1)))
    opened = world.service.open_case(receipt.case_number, receipt.pin.lower())
    assert opened.id == receipt.submission.id
    with pytest.raises(AuthError, match="case number or the PIN is wrong"):
        world.service.open_case(receipt.case_number, "AAAA-BBBB-CCCC")
    other = receipt.case_number[:-1] + str((int(receipt.case_number[-1]) + 1) % 10)
    with pytest.raises(InvalidInput):  # a typo is caught by the check digit
        world.service.open_case(other, receipt.pin)
    from keepdown.submissions.codes import damm_check

    unknown = "12345678901"
    unknown += str(damm_check(unknown))
    with pytest.raises(AuthError, match="case number or the PIN is wrong"):  # same words
        world.service.open_case(unknown, receipt.pin)


def test_wrong_pins_lock_the_case_for_a_while(world: World) -> None:
    receipt = world.service.submit(form(image(1)))
    for _ in range(5):
        with pytest.raises(AuthError):
            world.service.open_case(receipt.case_number, "AAAA-BBBB-CCCC")
    with pytest.raises(RateLimited) as locked:
        world.service.open_case(receipt.case_number, receipt.pin)  # even the right PIN waits
    assert 0 < locked.value.details["retry_after"] <= 15 * 60 + 1
    world.clock.advance(timedelta(minutes=16))
    assert world.service.open_case(receipt.case_number, receipt.pin).active
    # a right PIN clears the count: four more wrong ones do not lock
    for _ in range(4):
        with pytest.raises(AuthError):
            world.service.open_case(receipt.case_number, "AAAA-BBBB-CCCC")
    assert world.service.open_case(receipt.case_number, receipt.pin).active


def test_withdrawal_tombstones_the_hashes_in_every_export(world: World) -> None:
    receipt = world.service.submit(form(image(1), video(2)))
    world.clock.advance(timedelta(days=3))
    withdrawn = world.service.withdraw(receipt.case_number, receipt.pin)
    assert withdrawn.status is Status.WITHDRAWN
    assert withdrawn.withdrawn_at == world.clock.now()
    assert active_entries(world, "self-submitted-minors") == set()
    removed = world.log.of(BankEntryRemoved)
    assert len(removed) == 12
    assert {r.reason for r in removed} == {"source-withdrew"}
    [event] = world.log.of(SelfSubmissionWithdrawn)
    assert event.hashes_removed == 12
    # the bank's export (the feed peers copy) carries each removal
    out = io.StringIO()
    world.banks.export("self-submitted-minors", out, "jsonl")
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    entries = [line for line in lines if "value" in line]
    assert len(entries) == 12
    assert all(line["removed"] for line in entries)
    # withdrawing again changes nothing; the case still opens and says withdrawn
    again = world.service.withdraw(receipt.case_number, receipt.pin)
    assert again.status is Status.WITHDRAWN
    assert len(world.log.of(SelfSubmissionWithdrawn)) == 1


def test_a_hash_two_people_sent_stays_until_both_withdraw(world: World) -> None:
    first = world.service.submit(form(image(1)))
    second = world.service.submit(form(image(1), image(2)))
    bank = "self-submitted-minors"
    assert len(active_entries(world, bank)) == 20
    world.service.withdraw(first.case_number, first.pin)
    assert len(active_entries(world, bank)) == 20  # the second still holds picture 1
    world.service.withdraw(second.case_number, second.pin)
    assert active_entries(world, bank) == set()
    # sent again later: the tombstones are lifted
    third = world.service.submit(form(image(1)))
    assert len(active_entries(world, bank)) == 10
    assert third.submission.active


def test_an_analysts_false_positive_removal_outranks_a_new_submission(world: World) -> None:
    world.service.submit(form(image(1)))
    bank = "self-submitted-minors"
    flat = image(1)["pdq"]["original"]
    world.banks.remove_entry(bank, "pdq", flat, "false-positive")
    receipt = world.service.submit(form(image(1)))
    assert ("pdq", flat) not in active_entries(world, bank)
    assert len(active_entries(world, bank)) == 9
    assert receipt.submission.active


def test_reconcile_finishes_what_a_crash_interrupted(world: World) -> None:
    receipt = world.service.submit(form(image(1)))
    # a crash between marking the submission withdrawn and updating the bank
    world.service.store.withdraw(receipt.submission.id, world.clock.now())
    assert len(active_entries(world, "self-submitted-minors")) == 10
    result = world.service.reconcile()
    assert result.removed == 10
    assert active_entries(world, "self-submitted-minors") == set()
    assert world.service.reconcile().removed == 0  # nothing left to do


def test_entries_added_by_hand_are_never_touched(world: World) -> None:
    from keepdown.banks.records import EntryRecord
    from keepdown.hashing.types import SignalType

    receipt = world.service.submit(form(image(1)))
    bank = "self-submitted-minors"
    world.banks.add_entry(bank, EntryRecord(signal_type=SignalType.MD5, value="ab" * 16))
    world.service.withdraw(receipt.case_number, receipt.pin)
    world.service.reconcile()
    assert active_entries(world, bank) == {("md5", "ab" * 16)}


def test_counts_by_programme_and_status(world: World) -> None:
    a = world.service.submit(form(image(1)))
    world.service.submit(form(image(2), age="18-plus"))
    world.service.withdraw(a.case_number, a.pin)
    counts = dict(world.service.store.counts())
    assert counts == {"minors/withdrawn": 1, "adults/active": 1}
    assert {p.value for p in Programme} == {"minors", "adults"}
