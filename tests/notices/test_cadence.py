"""Re-check cadence in minutes per provider, with the operator's floor; what a provider's
401/403 and "content removed" pages mean (issue 24, items 3 and 5). A loopback host, the real
fetcher and a frozen clock: a provider re-checked every 3 minutes has its removal times to
within 3 minutes, and the figures say so."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from keepdown.errors import InvalidInput
from keepdown.events import RemovalConfirmed
from keepdown.notices import lifecycle as lc
from keepdown.notices.policy import policy_for
from keepdown.notices.providers import Meaning, Provider, hours_as_minutes, validate_provider
from keepdown.reports import running_figures, to_date
from keepdown.reports.durations import duration_text

from .conftest import T0, known_image
from .test_removal_answers import REMOVED_PAGE
from .test_tracker import Tracked

MIN = timedelta(minutes=1)


def _tracked(nsettings, clock, site, **provider):
    t = Tracked(nsettings, clock, site)
    host = t.services.providers.get("Host")
    t.services.providers.update(replace(host, **provider), clock.now())
    return t


@pytest.fixture
def fast(nsettings, clock, sites):
    """Host re-checked every 3 minutes under a floor of 1 minute."""
    t = _tracked(
        nsettings.replace(notice_recheck_floor_minutes=1), clock, sites[0], recheck_minutes=3
    )
    yield t
    t.services.close()


def _removals(t: Tracked) -> list[RemovalConfirmed]:
    return [e for e in t.services.storage.events.read() if isinstance(e, RemovalConfirmed)]


def test_a_three_minute_cadence_measures_removal_to_three_minutes(fast):
    t = fast
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    t.clock.advance(3 * MIN)
    assert t.recheck().present == 1  # 3 min: still there
    t.clock.advance(1 * MIN)
    t.site.answer("/a.jpg", 404)  # the provider removes it 4 minutes after the notice
    assert t.recheck().checked == 0  # nothing due at 4 min
    t.clock.advance(2 * MIN)
    assert t.recheck().removals == [str(ids["a.jpg"])]  # the 6-minute check
    (removal,) = _removals(t)
    assert (removal.removed_at, removal.last_present_at) == (T0 + 6 * MIN, T0 + 3 * MIN)
    row = running_figures(t.services.storage.events.read(), to_date(t.clock.now())).totals
    assert row.median_hours == pytest.approx(0.1)  # 6 minutes; the truth is 4
    assert row.precision_max_hours == pytest.approx(0.05)  # late by at most 3 minutes
    assert (duration_text(row.median_hours), duration_text(row.precision_max_hours)) == (
        "6 min",
        "3 min",
    )


def test_the_floor_protects_the_provider(nsettings):
    eager = Provider(name="Eager", recheck_minutes=1, renotice_minutes=2)
    policy = policy_for(eager, nsettings)  # the default floor: 5 minutes
    assert policy.cadence.recheck == policy.cadence.renotice == 5 * MIN
    assert policy.confirm_after == 5 * MIN
    status = lc.LocationStatus(
        state=lc.LocationState.NOTIFIED,
        first_notice_at=T0,
        last_notice_at=T0,
        notices_sent=1,
        next_check_at=T0 + 5 * MIN,
    )
    assert not lc.due(status, T0 + 1 * MIN, policy).recheck
    assert lc.due(status, T0 + 5 * MIN, policy).recheck
    loose = policy_for(eager, nsettings.replace(notice_recheck_floor_minutes=1))
    assert (loose.cadence.recheck, loose.cadence.renotice) == (1 * MIN, 2 * MIN)
    # the watch of removed locations obeys the floor too
    watch = policy_for(eager, nsettings.replace(notice_watch_every_hours=0.01))
    assert watch.watch_every == 5 * MIN
    assert policy_for(eager, nsettings.replace(notice_watch_every_hours=0.5)).watch_every == (
        30 * MIN
    )


def test_cadence_fields_are_checked_and_hours_still_read():
    for bad in (0, -3, 366 * 24 * 60 + 1, 1.5):
        with pytest.raises(InvalidInput, match="recheck_minutes"):
            validate_provider(Provider(name="P", abuse_contacts=("a@p.test",), recheck_minutes=bad))  # type: ignore[arg-type]
    assert hours_as_minutes({"recheck_hours": 2, "name": "P"}) == {
        "recheck_minutes": 120,
        "name": "P",
    }
    assert hours_as_minutes({"escalate_hours": 1, "escalate_minutes": 60}) == {
        "escalate_minutes": 60
    }
    with pytest.raises(InvalidInput, match="not both"):
        hours_as_minutes({"renotice_hours": 1, "renotice_minutes": 5})
    with pytest.raises(InvalidInput, match="unmatched_means"):
        validate_provider(
            Provider(name="P", abuse_contacts=("a@p.test",), unmatched_means=Meaning.ERROR)
        )


@pytest.mark.parametrize(
    ("provider", "serve", "removed_at_first"),
    [
        ({"forbidden_means": Meaning.REMOVED}, "403", True),  # an object store: 403 is gone
        ({"unmatched_means": Meaning.REMOVED}, "page", True),  # its own "removed" page
        ({}, "403", False),  # the default: a second check confirms
    ],
)
def test_a_providers_setting_says_what_its_answers_mean(
    nsettings, clock, sites, provider, serve, removed_at_first
):
    t = _tracked(nsettings, clock, sites[0], recheck_minutes=60, **provider)
    try:
        t.site.put("/a.jpg", known_image(0))
        ids = t.notify(("/a.jpg", 0, ""))
        if serve == "403":
            t.site.answer("/a.jpg", 403)
        else:
            t.site.put("/a.jpg", REMOVED_PAGE, "text/html")
        t.clock.advance(60 * MIN)
        first = t.recheck()
        assert first.removals == ([str(ids["a.jpg"])] if removed_at_first else [])
        if not removed_at_first:
            t.clock.advance(5 * MIN)
            assert t.recheck().removals == [str(ids["a.jpg"])]
        (removal,) = _removals(t)
        assert removal.removed_at == T0 + 60 * MIN  # from the first check either way
    finally:
        t.services.close()


def test_a_forbidden_answer_that_means_error_is_never_removal(nsettings, clock, sites):
    t = _tracked(nsettings, clock, sites[0], recheck_minutes=60, forbidden_means=Meaning.ERROR)
    try:
        t.site.put("/a.jpg", known_image(0))
        t.notify(("/a.jpg", 0, ""))
        t.site.answer("/a.jpg", 403)  # a firewall refusing robots
        for _ in range(3):
            t.clock.advance(60 * MIN)
            report = t.recheck()
            assert (report.removals, report.errors) == ([], 1)
        assert _removals(t) == []
    finally:
        t.services.close()
