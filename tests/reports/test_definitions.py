"""The field's definitions side by side (issue 23): hand-made events, hand-computed values.

Hosting A (id "pa"), 2026-Q3, T0 = 1 July 00:00:

=====  ==============================================  ==============================
 loc   what happened                                   counts as
=====  ==============================================  ==============================
 L1    URL reported T0-10 h (crawl c1), seen T0-2 h,   keepdown 10 h; from report 20 h;
       notified T0, gone at T0+10 h, confirmed +12 h   to confirmation 12 h
 L2    own crawl, notified T0, gone T0+30 h; back at   30 h; no report; reappeared
       the same provider 10 days later                 within 30 days
 L3    notified T0+1 d, gone 50 h later                50 h
 L4    notified T0, never gone                         over 42 days (decided)
 L5    notified 25 Sept, never gone                    undecided at 1 Oct
 L6    notified 2 July, gone 50 days later             1200 h; over 42 days
=====  ==============================================  ==============================

Nearest-rank percentiles of [10, 30, 50, 1200]: p50 30 (rank 2), p90 and p99 1200 (rank 4).
Cohort 6: within 24 h 1, 48 h 2, 72 h 3, 7 d 3. Over 42 days: 2 of 5 decided, 1 undecided.
Cloud B: one location, gone in 3 h (checks the grouping and the totals).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from keepdown.clock import utc
from keepdown.events import (
    NoticeSent,
    ReappearanceDetected,
    RemovalConfirmed,
    SightingRecorded,
    UrlReported,
)
from keepdown.reports import build_report, render
from keepdown.reports.definitions import DEFINITIONS, field_figures
from keepdown.reports.ledger import build_ledger
from keepdown.reports.period import parse_period

H = timedelta(hours=1)
D = timedelta(days=1)
T0 = utc(2026, 7, 1)
Q3 = parse_period("2026-Q3")


def notice(ref: str, at, loc: str, sighting: str = "", provider="Hosting A", pid="pa"):
    return NoticeSent(
        at=at,
        notice_ref=ref,
        provider=provider,
        provider_id=pid,
        locations=(loc,),
        location_sightings=(sighting,),
        location_detected_at=(at.isoformat(),),
        location_entries=("",),
        location_reappearances=("",),
    )


def gone(loc: str, removed, confirmed=None, first=T0, provider="Hosting A", pid="pa"):
    return RemovalConfirmed(
        at=confirmed or removed,
        location_id=loc,
        notice_ref="",
        provider=provider,
        provider_id=pid,
        first_notice_at=first,
        removed_at=removed,
    )


def history():
    return [
        UrlReported(at=T0 - 10 * H, url="http://x.test/p", reporter="public", crawl_id="c1"),
        SightingRecorded(
            at=T0 - 2 * H,
            sighting_id="s1",
            media_url="http://x.test/1.jpg",
            page_url="http://x.test/p",
            bank="b",
            entry_id=1,
            match_type="exact",
            state="confirmed",
            crawl_id="c1",
        ),
        notice("N1", T0, "L1", "s1"),
        notice("N2", T0, "L2"),
        notice("N4", T0, "L4"),
        notice("N6", T0 + D, "L6"),
        notice("N3", T0 + D, "L3"),
        notice("N7", T0 + 4 * D, "L7", provider="Cloud B", pid="pb"),
        gone("L7", T0 + 4 * D + 3 * H, first=T0 + 4 * D, provider="Cloud B", pid="pb"),
        gone("L1", T0 + 10 * H, T0 + 12 * H),
        gone("L2", T0 + 30 * H),
        gone("L3", T0 + D + 50 * H, first=T0 + D),
        ReappearanceDetected(
            at=T0 + 30 * H + 10 * D,
            sighting_id="s9",
            previous_location_id="L2",
            provider="Hosting A",
            provider_id="pa",
            where="same_provider",
        ),
        ReappearanceDetected(  # L1's material elsewhere: not a same-provider return
            at=T0 + 5 * D,
            sighting_id="s8",
            previous_location_id="L1",
            provider="Cloud B",
            provider_id="pb",
            where="other",
        ),
        gone("L6", T0 + D + 50 * D, first=T0 + D),
        notice("N5", utc(2026, 9, 25), "L5"),
    ]


def test_every_definition_for_one_provider_by_hand() -> None:
    a = field_figures(build_ledger(history()), Q3, "provider")["pa"].values
    assert a["keepdown_time_to_removal"] == {
        "n": 4,
        "p50_hours": 30.0,
        "p90_hours": 1200.0,
        "p99_hours": 1200.0,
    }
    assert a["time_from_report"] == {
        "n": 1,
        "p50_hours": 20.0,
        "p90_hours": 20.0,
        "p99_hours": 20.0,
        "without_report": 3,
    }
    assert a["time_from_notice"]["p50_hours"] == 30.0  # 12, 30, 50, 1200 hours
    assert a["time_from_notice"]["n"] == 4
    assert a["share_over_42_days"] == {"over": 2, "decided": 5, "undecided": 1, "share": 0.4}
    within = a["removed_within"]
    assert within["cohort"] == 6
    assert [within[k]["removed"] for k in ("24h", "48h", "72h", "7d")] == [1, 2, 3, 3]
    assert within["24h"]["share"] == pytest.approx(1 / 6)
    assert a["same_provider_reappearance"] == {
        "days": 30,
        "reappeared": 1,
        "of": 4,
        "share": 0.25,
    }


def test_the_totals_take_every_provider() -> None:
    totals = field_figures(build_ledger(history()), Q3, "all")[""].values
    assert totals["keepdown_time_to_removal"]["n"] == 5
    assert totals["keepdown_time_to_removal"]["p50_hours"] == 30.0  # 3, 10, 30, 50, 1200
    assert totals["removed_within"]["cohort"] == 7
    assert totals["removed_within"]["24h"]["removed"] == 2


def test_the_report_carries_them_with_their_words() -> None:
    report = build_report(history(), Q3, generated_at=T0 + 100 * D)
    data = report.to_dict()["definitions"]
    assert [d["id"] for d in data["definitions"]] == [d.id for d in DEFINITIONS]
    assert [p["key"] for p in data["providers"]] == ["pa", "pb"]
    words = dict(report.methodology)
    for d in DEFINITIONS:
        assert words[f"{d.name} ({d.style})"] == d.text
    html = render(report, "html")
    assert "<h2>The field's definitions, side by side</h2>" in html
    assert "INHOPE-style" in html
    assert "C3P-style" in html
    assert "IWF-style" in html
    csv_text = render(report, "csv")
    assert "definitions,Hosting A,share_over_42_days.share,0.4" in csv_text


def test_an_empty_period_has_every_definition_empty() -> None:
    totals = field_figures(build_ledger([]), Q3, "all")[""].values
    assert totals["keepdown_time_to_removal"] == {
        "n": 0,
        "p50_hours": None,
        "p90_hours": None,
        "p99_hours": None,
    }
    assert totals["share_over_42_days"]["share"] is None
