"""What counts as removed (keepdown/notices/checks.py, docs/notices.md): 401/403 and a
"content removed" page count once a second check, or the provider's own report, agrees, and
then from the first check that saw them; every check keeps the status it saw. With a
loopback host, the real fetcher and a frozen clock (issue 24: an object store answering 403
for a deleted key was never confirmed removed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keepdown.events import LocationRechecked, RemovalConfirmed
from keepdown.notices import lifecycle as lc
from keepdown.notices.lifecycle import CheckResult, LocationState, LocationStatus

from .conftest import T0, known_image
from .test_tracker import CONFIRM, Tracked

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
REMOVED_PAGE = b"<!doctype html><title>Gone</title><p>This file was removed for abuse.</p>"


@pytest.fixture
def tracked(nsettings, clock, sites):
    t = Tracked(nsettings, clock, sites[0])
    yield t
    t.services.close()


def _events(t: Tracked, kind):
    return [e for e in t.services.storage.events.read() if isinstance(e, kind)]


def _checks(t: Tracked) -> list[tuple[str, int | None, str, bool]]:
    return [(e.result, e.status, e.answer, e.confirming) for e in _events(t, LocationRechecked)]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_confirmed_by_a_second_check_is_removal_from_the_first(tracked, status):
    t = tracked
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    t.clock.advance(24 * H)
    assert t.recheck().present == 1  # still there a day later
    t.site.answer("/a.jpg", status)
    t.clock.advance(24 * H)
    first = t.recheck()
    assert (first.gone, first.confirming, first.removals) == (1, 1, [])
    loc = t.location(ids["a.jpg"]).status
    assert (loc.state, loc.gone_since) == (LocationState.NOTIFIED, T0 + 48 * H)
    assert lc.due(loc, T0 + 48 * H + CONFIRM, t.services.service.policy(_provider(t))).recheck
    t.clock.advance(CONFIRM)
    second = t.recheck()
    assert second.removals == [str(ids["a.jpg"])]
    loc = t.location(ids["a.jpg"]).status
    assert (loc.state, loc.removed_at, loc.gone_since) == (
        LocationState.REMOVED,
        T0 + 48 * H,  # the first check that found it gone
        None,
    )
    (removal,) = _events(t, RemovalConfirmed)
    assert (removal.at, removal.removed_at, removal.last_present_at) == (
        T0 + 48 * H + CONFIRM,
        T0 + 48 * H,
        T0 + 24 * H,
    )
    assert (removal.status, removal.answer) == (status, "refused")
    assert _checks(t) == [
        ("present", 200, "known", False),
        ("gone", status, "refused", True),
        ("gone", status, "refused", False),
    ]


def test_a_refusal_that_passes_is_not_removal(tracked):
    t = tracked
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    t.site.answer("/a.jpg", 403)
    t.clock.advance(24 * H)
    t.recheck()
    t.site.put("/a.jpg", known_image(0))  # a passing fault: the file answers again
    t.clock.advance(CONFIRM)
    assert t.recheck().present == 1
    loc = t.location(ids["a.jpg"]).status
    assert (loc.state, loc.gone_since, loc.last_present_at) == (
        LocationState.NOTIFIED,
        None,
        T0 + 24 * H + CONFIRM,
    )
    t.site.answer("/a.jpg", 403)  # a later 403 starts over: needs its own confirmation
    t.clock.advance(24 * H)
    assert t.recheck().removals == []
    assert not _events(t, RemovalConfirmed)


@pytest.mark.parametrize("answer", ["403", "removed page"])
def test_a_reported_removal_is_confirmed_within_one_pass(tracked, answer):
    """The provider reports the removal through its link; the check it brings forward finds
    a 403 (or its "content removed" page): the report and the check agree, removal at once."""
    t = tracked
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    (notice,) = t.services.notices.list_notices()
    if answer == "403":
        t.site.answer("/a.jpg", 403)
    else:
        t.site.put("/a.jpg", REMOVED_PAGE, "text/html")
    t.clock.advance(3 * MIN)
    t.services.service.report_removed(notice.reference, ids["a.jpg"])
    report = t.recheck()  # the very next pass
    assert report.removals == [str(ids["a.jpg"])]
    loc = t.location(ids["a.jpg"]).status
    assert loc.removed_at == T0 + 3 * MIN
    (removal,) = _events(t, RemovalConfirmed)
    assert removal.removed_at - removal.first_notice_at == 3 * MIN


def test_a_false_removal_report_is_caught(tracked):
    t = tracked
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    (notice,) = t.services.notices.list_notices()
    t.clock.advance(10 * MIN)
    t.services.service.report_removed(notice.reference, ids["a.jpg"])
    assert t.recheck().present == 1
    t.site.answer("/a.jpg", 403)  # later refused: the old report no longer vouches for it
    t.clock.advance(24 * H)
    assert (t.recheck().confirming, len(_events(t, RemovalConfirmed))) == (1, 0)


def test_a_removed_page_is_removal_once_confirmed(tracked):
    t = tracked
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    t.site.put("/a.jpg", REMOVED_PAGE, "text/html")
    t.clock.advance(24 * H)
    assert t.recheck().removals == []
    t.site.answer("/a.jpg", 404)  # any gone answer confirms
    t.clock.advance(CONFIRM)
    assert t.recheck().removals == [str(ids["a.jpg"])]
    (removal,) = _events(t, RemovalConfirmed)
    assert (removal.removed_at, removal.status, removal.answer) == (
        T0 + 24 * H,
        404,
        "removed_status",
    )
    assert removal.last_present_at is None  # never checked present: precise to the notice


def _provider(t: Tracked):
    return t.services.providers.get("Host")


def test_an_error_while_confirming_keeps_the_first_gone_answer():
    policy = lc.Policy()
    s = LocationStatus(
        state=LocationState.NOTIFIED,
        first_notice_at=T0,
        last_notice_at=T0,
        notices_sent=1,
        next_check_at=T0 + 24 * H,
    )
    at = T0 + 24 * H
    s, removed = lc.checked(s, at, CheckResult.GONE, policy, needs_confirmation=True)
    assert (removed, s.gone_since, s.next_check_at) == (False, at, at + policy.confirm_after)
    later = at + policy.confirm_after
    s, removed = lc.checked(s, later, CheckResult.ERROR, policy)
    assert (removed, s.gone_since) == (False, at)
    assert s.next_check_at == later + policy.confirm_after  # not an hour: still confirming
    s, removed = lc.checked(s, s.next_check_at, CheckResult.GONE, policy, needs_confirmation=True)
    assert (removed, s.state, s.removed_at) == (True, LocationState.REMOVED, at)
    assert not lc.due(s, at + 2 * H, policy).renotice
