"""ReferralMade fills the regulator view's "reports to NCMEC or law enforcement" field."""

from __future__ import annotations

from datetime import timedelta

from keepdown.events import ReferralMade
from keepdown.reports.period import parse_period
from keepdown.reports.regulator import regulator_view
from keepdown.reports.report import build_report

from .conftest import T0

Q2 = parse_period("2026-Q2")


def referral(to: str, days: int = 0) -> ReferralMade:
    return ReferralMade(
        at=T0 + timedelta(days=days), to=to, organisation="platform", source="upload"
    )


def field(report, name):
    return next(row for row in regulator_view(report) if row["field"] == name)


def test_referrals_to_ncmec_and_law_enforcement_are_counted_in_their_period():
    events = [
        referral("ncmec"),
        referral("ncmec", 1),
        referral("law_enforcement", 2),
        referral("hotline", 3),  # another hotline is not NCMEC or law enforcement
        referral("ncmec", 90),  # after the period
    ]
    report = build_report(events, Q2, generated_at=T0 + timedelta(days=100))
    assert report.referrals == {"hotline": 1, "law_enforcement": 1, "ncmec": 2}
    row = field(report, "bose.reports_to_ncmec_or_law_enforcement")
    assert (row["value"], row["status"]) == (3, "filled")
    assert report.to_dict()["referrals"] == {"hotline": 1, "law_enforcement": 1, "ncmec": 2}


def test_without_referrals_the_field_is_zero_not_unavailable():
    report = build_report([], Q2, generated_at=T0)
    row = field(report, "bose.reports_to_ncmec_or_law_enforcement")
    assert (row["value"], row["status"]) == (0, "filled")
