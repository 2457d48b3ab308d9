"""Figures from the hand-made history (tests/reports/scenario.py), checked against numbers
worked out by hand, including the period edge cases."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from keepdown.clock import utc
from keepdown.reports import build_report, parse_period
from keepdown.reports.figures import removal_figures
from keepdown.reports.ledger import build_ledger

from .scenario import A, B, C, history

Q3 = parse_period("2026-Q3")
NOW = utc(2026, 10, 5)


@pytest.fixture(scope="module")
def report():
    events = history()
    random.Random(4).shuffle(events)  # order of the input must not matter
    return build_report(events, Q3, generated_at=NOW, operator="Test Hotline")


def by_name(report):
    return {f.name: f for f in report.league_table}


def test_provider_a_figures_by_hand(report):
    a = by_name(report)[A]
    assert (a.notices, a.renotices, a.locations, a.removed) == (2, 0, 3, 3)
    # L1 (24 h, notified in Q2 but removed in Q3), L2 (6 h), L3 (240 h)
    assert a.removal_hours == (6.0, 24.0, 240.0)
    assert a.median_hours == 24.0
    assert a.p90_hours == 240.0  # nearest rank: ceil(0.9 * 3) = 3rd value
    # cohort = L2, L3, L4; L4 was removed after the period end: not within any window
    assert a.removed_within == {"24h": 1, "7d": 1, "42d": 2}
    assert a.share_within == {"24h": 1 / 3, "7d": 1 / 3, "42d": 2 / 3}
    assert a.still_present == 1  # L4: removed on 2 October, after the end of Q3
    assert (a.repeat_notices, a.repeat_share) == (1, 0.5)  # N3 names s2's material again
    assert a.median_detection_hours == 6.0  # s2 6 h, s3 6 h, s4 24 h
    assert a.p90_detection_hours == 24.0
    assert a.country == "NL"


def test_provider_b_renotice_dispute_and_withdrawal(report):
    b = by_name(report)[B]
    # L5 was withdrawn (dispute upheld) before the end: not notified, not present
    assert (b.notices, b.renotices, b.locations, b.removed) == (2, 1, 1, 1)
    assert (b.median_hours, b.p90_hours) == (72.0, 72.0)
    assert b.removed_within == {"24h": 0, "7d": 1, "42d": 1}
    assert b.share_within == {"24h": 0.0, "7d": 1.0, "42d": 1.0}  # of L6 alone
    assert b.still_present == 0  # L5 withdrawn (dispute upheld), L6 removed
    assert b.withdrawn == 1
    assert (b.disputes_opened, b.disputes_upheld, b.disputes_rejected, b.disputes_pending) == (
        1,
        1,
        0,
        0,
    )
    assert b.repeat_notices == 0


def test_provider_c_never_removes_and_comes_last(report):
    c = by_name(report)[C]
    assert (c.notices, c.locations, c.removed, c.median_hours) == (1, 1, 0, None)
    assert c.share_within == {"24h": 0.0, "7d": 0.0, "42d": 0.0}
    assert c.still_present == 1
    assert c.reappearances == 1
    assert c.reappearances_by_where == {"same_url": 0, "same_provider": 0, "other": 1}
    assert [f.name for f in report.league_table] == [A, B, C]


def test_totals_and_distribution(report):
    t = report.totals
    assert (t.notices, t.renotices, t.locations, t.removed) == (5, 1, 5, 4)  # L5 withdrawn
    assert t.removal_hours == (6.0, 24.0, 72.0, 240.0)
    assert t.median_hours == 48.0  # mean of 24 and 72
    assert t.p90_hours == 240.0
    assert t.still_present == 2  # L4 and L7
    assert t.median_detection_hours == 24.0  # 6, 6, 24, 24, 24, 24
    assert dict(report.distribution) == {
        "1 h or less": 0,
        "1-24 h": 2,
        "1-2 days": 0,
        "2-7 days": 1,
        "7-14 days": 1,
        "14-42 days": 0,
        "over 42 days": 0,
    }


def test_countries(report):
    countries = {f.key: f for f in report.countries}
    assert set(countries) == {"NL", "FR", "US"}
    assert countries["NL"].removal_hours == (6.0, 24.0, 240.0)
    assert countries["FR"].notices == 2
    assert countries["US"].still_present == 1


def test_trend_by_month(report):
    months = {r["month"]: r for r in report.trend}
    assert len(report.trend) == 12
    assert report.trend[-1]["month"] == "2026-09"
    assert (months["2026-06"]["notified"], months["2026-06"]["removed"]) == (1, 0)
    assert months["2026-06"]["still_present"] == 1  # L1 at the end of June
    assert (months["2026-07"]["notified"], months["2026-07"]["removed"]) == (2, 3)
    assert months["2026-07"]["median_hours"] == 24.0
    assert (months["2026-08"]["notified"], months["2026-08"]["removed"]) == (1, 1)  # L5 out
    assert months["2026-08"]["withdrawn"] == 1
    assert (months["2026-09"]["notified"], months["2026-09"]["removed"]) == (2, 0)
    assert months["2026-09"]["reappearances"] == 1
    assert months["2025-10"]["notified"] == 0


def test_banks_and_platforms(report):
    banks = {(b.bank, b.detection): b for b in report.banks}
    b1, b2 = banks[("b1", "crawl")], banks[("b2", "crawl")]
    assert (b1.matches, b1.exact, b1.auto_confirmed, b1.error_rate) == (6, 6, 6, None)
    assert (b2.matches, b2.near, b2.sent_to_review) == (2, 2, 2)
    assert (b2.review_confirmed, b2.false_positives, b2.error_rate) == (1, 1, 0.5)
    assert (b2.bank_source, b1.bank_source) == ("IWF", "")  # as the review decision names it
    (k1,) = report.platforms
    assert (k1.key_id, k1.checked, k1.blocked, k1.sent_to_review, k1.allowed) == (
        "k1",
        3,
        1,
        1,
        1,
    )
    assert (k1.exact, k1.near, k1.automated) == (1, 1, 3)
    assert report.signal_types == {"sha256": 9}


def test_a_notice_of_the_previous_period_removed_in_this_one():
    """L1: notified in Q2, removed in Q3. Q2 says it is still present at its end; Q3 counts
    the removal and its 24 hours; neither counts it twice."""
    ledger = build_ledger(history())
    q2 = removal_figures(ledger, parse_period("2026-Q2"), "provider")[A]
    assert (q2.notices, q2.locations, q2.removed, q2.still_present) == (1, 1, 0, 1)
    assert q2.share_within["24h"] == 0.0  # removed, but after the Q2 end
    q3 = removal_figures(ledger, Q3, "provider")[A]
    assert 24.0 in q3.removal_hours
    assert q3.locations == 3  # L1 is not in the Q3 cohort


def test_a_removal_after_the_period_end_is_still_present_at_the_end():
    ledger = build_ledger(history())
    september = removal_figures(ledger, parse_period("2026-09"), "provider")[A]
    assert (september.locations, september.removed, september.still_present) == (1, 0, 1)
    october = removal_figures(ledger, parse_period("2026-10"), "provider")[A]
    assert (october.locations, october.removed, october.still_present) == (0, 1, 0)
    assert october.removal_hours == (48.0,)


def test_data_file_rows(report):
    rows = report.locations
    assert len(rows) == 7  # L1..L7: notified, removed, or still present in Q3
    assert [r["row"] for r in rows] == list(range(1, 8))
    first = rows[0]
    assert (first["provider"], first["hours_to_removal"], first["notified_in_period"]) == (
        A,
        24.0,
        False,
    )
    statuses = sorted(r["status_at_period_end"] for r in rows)
    assert statuses == [
        "present",
        "present",
        "removed",
        "removed",
        "removed",
        "removed",
        "withdrawn",
    ]
    removed_in = sorted(r["hours_to_removal"] for r in rows if r["removed_in_period"])
    assert removed_in == list(report.totals.removal_hours)


def test_empty_history_gives_an_empty_report():
    report = build_report([], Q3, generated_at=NOW)
    assert report.league_table == []
    assert report.totals.notices == 0
    assert report.totals.median_hours is None
    assert report.locations == []


def test_providers_keyed_by_stable_id_survive_a_rename():
    from keepdown.events import NoticeSent, RemovalConfirmed

    t = utc(2026, 8, 1)
    events = [
        NoticeSent(at=t, notice_ref="N1", provider="Old Name", provider_id="7", locations=("L1",)),
        NoticeSent(at=t, notice_ref="N2", provider="New Name", provider_id="7", locations=("L2",)),
        RemovalConfirmed(
            at=t + timedelta(hours=5),
            location_id="L1",
            notice_ref="N1",
            provider="New Name",
            provider_id="7",
            first_notice_at=t,
        ),
    ]
    (only,) = build_report(events, Q3, generated_at=NOW).league_table
    assert (only.key, only.name, only.notices, only.locations, only.removed) == (
        "7",
        "New Name",
        2,
        2,
        1,
    )


def test_repeat_notices_follow_the_previous_provider_of_a_reappearance():
    """C3P's measure: only material this provider had before makes a repeat notice; material
    removed at another provider is a reappearance there, not a repeat for this one."""
    from keepdown.events import (
        DeliveryFailed,
        NoticeSent,
        ReappearanceDetected,
        RemovalReported,
    )

    t = utc(2026, 8, 1)

    def back(ref: str, previous: str) -> ReappearanceDetected:
        return ReappearanceDetected(
            at=t,
            sighting_id="",
            previous_location_id="L0",
            provider="B",
            provider_id="2",
            where="other" if previous != "2" else "same_provider",
            notice_ref=ref,
            previous_provider_id=previous,
        )

    def sent(ref: str) -> NoticeSent:
        return NoticeSent(
            at=t, notice_ref=ref, provider="B", provider_id="2", locations=(ref,), reappearance=True
        )

    events = [back("N1", "1"), sent("N1"), back("N2", "2"), sent("N2")]
    events += [
        RemovalReported(at=t, notice_ref="N1", provider="B", provider_id="2", location_id="N1"),
        DeliveryFailed(
            at=t,
            notice_ref="N2",
            provider="B",
            provider_id="2",
            delivery_id="9",
            delivery_kind="renotice",
            channel="email",
            attempts=8,
            outcome="failed",
        ),
    ]
    (b,) = build_report(events, Q3, generated_at=NOW).league_table
    assert (b.notices, b.repeat_notices, b.repeat_share) == (2, 1, 0.5)
    assert (b.reappearances, b.reappearances_by_where["other"]) == (2, 1)
    assert (b.removals_reported, b.delivery_failures, b.removed) == (1, 1, 0)
