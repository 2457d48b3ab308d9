"""The pure lifecycle, alone, with a frozen clock: every path of a location and a notice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keepdown.clock import FrozenClock, utc
from keepdown.errors import Conflict, InvalidInput
from keepdown.notices import lifecycle as lc
from keepdown.notices.lifecycle import CheckResult, LocationState, LocationStatus, NoticeState
from keepdown.notices.providers import Cadence

H = timedelta(hours=1)
POLICY = lc.Policy(
    cadence=Cadence(recheck=24 * H, renotice=24 * H, escalate_after=72 * H),
    error_retry=1 * H,
    watch_every=7 * 24 * H,
    watch_for=42 * 24 * H,
)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(utc(2026, 3, 1, 9))


def drafted(clock: FrozenClock) -> LocationStatus:
    return LocationStatus(detected_at=clock.now() - 2 * H)


def test_sent_starts_the_clock_and_schedules_the_first_check(clock):
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    assert s.state is LocationState.NOTIFIED
    assert s.first_notice_at == s.last_notice_at == utc(2026, 3, 1, 9)
    assert s.next_check_at == utc(2026, 3, 2, 9)
    assert lc.due(s, clock.now(), POLICY) == lc.Due()
    assert lc.due(s, utc(2026, 3, 2, 9), POLICY).recheck


def test_gone_at_a_check_is_removal_at_that_check(clock):
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    clock.advance(24 * H)
    s, removed = lc.checked(s, clock.now(), CheckResult.GONE, POLICY)
    assert removed
    assert s.state is LocationState.REMOVED
    assert s.removed_at - s.first_notice_at == 24 * H
    # watched for reappearance: the next check a week later
    assert s.next_check_at == clock.now() + 7 * 24 * H
    again, removed_again = lc.checked(s, s.next_check_at, CheckResult.GONE, POLICY)
    assert not removed_again
    assert again.removed_at == s.removed_at  # the first check that found it gone counts


def test_still_there_renotices_on_schedule_then_escalates_once(clock):
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    first = clock.now()
    for day in (1, 2):
        clock.set(first + day * 24 * H)
        assert lc.due(s, clock.now(), POLICY).recheck
        s, _ = lc.checked(s, clock.now(), CheckResult.PRESENT, POLICY)
        due = lc.due(s, clock.now(), POLICY)
        assert due.renotice
        assert not due.escalate
        s = lc.sent(s, clock.now(), POLICY)
        assert s.state is LocationState.RENOTICED
        assert not lc.due(s, clock.now(), POLICY).renotice  # not before the next check
    clock.set(first + 72 * H)
    s, _ = lc.checked(s, clock.now(), CheckResult.PRESENT, POLICY)
    due = lc.due(s, clock.now(), POLICY)
    assert due.renotice
    assert due.escalate
    s = lc.escalated(s, clock.now())
    assert s.state is LocationState.ESCALATED
    assert not lc.due(s, clock.now(), POLICY).escalate
    assert s.notices_sent == 3
    assert lc.escalated(s, clock.now() + H).escalated_at == s.escalated_at


def test_an_error_is_retried_sooner_and_never_counts_as_removal(clock):
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    clock.advance(24 * H)
    s, removed = lc.checked(s, clock.now(), CheckResult.ERROR, POLICY)
    assert not removed
    assert s.state is LocationState.NOTIFIED
    assert s.errors_in_row == 1
    assert s.last_check_result is None
    assert s.next_check_at == clock.now() + H
    assert not lc.due(s, clock.now() + 30 * 24 * H, POLICY).renotice  # no check said "present"
    s, _ = lc.checked(s, clock.now() + H, CheckResult.PRESENT, POLICY)
    assert s.errors_in_row == 0


def test_acknowledgement_and_removal_report(clock):
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    clock.advance(3 * H)
    s = lc.acknowledged(s, clock.now())
    assert s.state is LocationState.ACKNOWLEDGED
    assert s.acknowledged_at == clock.now()
    assert lc.acknowledged(s, clock.now() + H).acknowledged_at == s.acknowledged_at
    clock.advance(H)
    s = lc.removal_reported(s, clock.now())
    assert s.next_check_at == clock.now()  # checked at once
    assert s.state is LocationState.ACKNOWLEDGED  # the provider's word is not removal
    s, removed = lc.checked(s, clock.now(), CheckResult.GONE, POLICY)
    assert removed
    assert s.removed_at - s.first_notice_at == 4 * H


def test_dispute_pauses_renotice_and_escalation_until_review(clock):
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    s = lc.disputed(s, clock.now() + H)
    clock.advance(96 * H)
    s, _ = lc.checked(s, clock.now(), CheckResult.PRESENT, POLICY)
    due = lc.due(s, clock.now(), POLICY)
    assert due == lc.Due(recheck=False, renotice=False, escalate=False)
    rejected = lc.reviewed(s, clock.now(), "rejected")
    assert rejected.state is LocationState.NOTIFIED
    assert lc.due(rejected, clock.now(), POLICY).escalate
    upheld = lc.reviewed(s, clock.now(), "upheld")
    assert upheld.state is LocationState.WITHDRAWN
    assert lc.due(upheld, clock.now() + 1000 * H, POLICY) == lc.Due()
    with pytest.raises(InvalidInput):
        lc.reviewed(s, clock.now(), "maybe")
    with pytest.raises(Conflict):
        lc.reviewed(rejected, clock.now(), "upheld")


def test_invalid_transitions_are_refused(clock):
    d = drafted(clock)
    with pytest.raises(Conflict):
        lc.acknowledged(d, clock.now())
    with pytest.raises(Conflict):
        lc.checked(d, clock.now(), CheckResult.GONE, POLICY)
    removed, _ = lc.checked(
        lc.sent(d, clock.now(), POLICY), clock.now() + H, CheckResult.GONE, POLICY
    )
    for action in (lc.disputed, lc.removal_reported, lc.escalated):
        with pytest.raises(Conflict):
            action(removed, clock.now())
    with pytest.raises(Conflict):
        lc.sent(removed, clock.now(), POLICY)


def test_watch_ends_after_the_watch_period(clock):
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    s, _ = lc.checked(s, clock.now() + H, CheckResult.GONE, POLICY)
    checks = 0
    while s.next_check_at is not None:
        assert lc.due(s, s.next_check_at, POLICY).watch
        s, _ = lc.checked(s, s.next_check_at, CheckResult.GONE, POLICY)
        checks += 1
    assert checks == 6  # weekly for 42 days
    assert s.last_check_at <= s.removed_at + 42 * 24 * H


def test_notice_state_follows_its_locations(clock):
    now = clock.now()
    a = lc.sent(drafted(clock), now, POLICY)
    b = lc.sent(drafted(clock), now, POLICY)
    assert lc.notice_state([drafted(clock)], acknowledged=False) is NoticeState.DRAFTED
    assert lc.notice_state([a, b], acknowledged=False) is NoticeState.SENT
    assert lc.notice_state([a, b], acknowledged=True) is NoticeState.ACKNOWLEDGED
    gone, _ = lc.checked(a, now + H, CheckResult.GONE, POLICY)
    assert lc.notice_state([gone, b], acknowledged=True) is NoticeState.PARTIALLY_REMOVED
    renoticed = lc.sent(lc.checked(b, now + 24 * H, CheckResult.PRESENT, POLICY)[0], now, POLICY)
    assert lc.notice_state([a, renoticed], acknowledged=False) is NoticeState.RENOTICED
    assert lc.notice_state([a, lc.escalated(b, now)], acknowledged=False) is NoticeState.ESCALATED
    disputed = lc.disputed(b, now)
    assert lc.notice_state([gone, disputed], acknowledged=False) is NoticeState.DISPUTED
    gone_b, _ = lc.checked(b, now + H, CheckResult.GONE, POLICY)
    assert lc.notice_state([gone, gone_b], acknowledged=False) is NoticeState.REMOVED
    withdrawn = lc.reviewed(disputed, now, "upheld")
    assert lc.notice_state([withdrawn], acknowledged=False) is NoticeState.REVIEWED
    assert lc.notice_state([gone, withdrawn], acknowledged=False) is NoticeState.REMOVED


def test_months_of_daily_checks_in_a_loop(clock):
    """A location that stays up for 90 days: 90 checks, 90 re-notices, one escalation."""
    s = lc.sent(drafted(clock), clock.now(), POLICY)
    renotices = escalations = 0
    for _ in range(90):
        clock.set(s.next_check_at)
        s, _ = lc.checked(s, clock.now(), CheckResult.PRESENT, POLICY)
        due = lc.due(s, clock.now(), POLICY)
        if due.renotice:
            s = lc.sent(s, clock.now(), POLICY)
            renotices += 1
        if due.escalate:
            s = lc.escalated(s, clock.now())
            escalations += 1
    assert (s.checks, renotices, escalations) == (90, 90, 1)
    assert s.escalated_at == s.first_notice_at + 72 * H
    clock.set(s.next_check_at)
    s, removed = lc.checked(s, clock.now(), CheckResult.GONE, POLICY)
    assert removed
    assert s.removed_at - s.first_notice_at == 91 * 24 * H
