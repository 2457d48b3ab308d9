"""Removal requests and self-submitted hashes in the transparency report, with the period rule.

Worked example (times UTC; every deadline is 48 hours after receipt):

- R1: received 30 June 12:00, closed 1 July 10:00 (22 h). Q2: received, open at the end (due
  2 July: not overdue). Q3: closed in time, 22 h.
- R2: received 10 July, closed 14 July (96 h, late). Q3: received, closed late.
- R3: received 29 September, open. Q3: received, open at the end, not overdue (due 1 October).
- R4: received 20 September, open. Q3: received, open and overdue at the end.
- R5: received 1 August, withdrawn 2 August. Q3: received, withdrawn, not in the cohort.
- R6: received 5 August, closed 6 August, reopened, closed 9 August. Q3: closed once, in time
  (24 h: the first closing counts).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from keepdown.clock import utc
from keepdown.events import (
    Event,
    HoldDecided,
    RemovalRequestClosed,
    RemovalRequested,
    RemovalRequestWithdrawn,
    SelfSubmissionReceived,
    SelfSubmissionWithdrawn,
    UploadHeld,
)
from keepdown.reports import render, transparency_report
from keepdown.reports.period import parse_period
from keepdown.reports.requests import REQUEST_KINDS, RequestLedger, request_figures
from keepdown.storage.figures_store import REPORT_KINDS

H = timedelta(hours=1)


def opened(rid: str, received: datetime, origin: str = "person") -> RemovalRequested:
    return RemovalRequested(
        at=received,
        request_id=rid,
        organisation="photoshare",
        origin=origin,
        received_at=received,
        due_at=received + 48 * H,
    )


def closed(rid: str, received: datetime, at: datetime, origin: str = "person") -> Event:
    return RemovalRequestClosed(
        at=at,
        request_id=rid,
        organisation="photoshare",
        origin=origin,
        received_at=received,
        due_at=received + 48 * H,
        closed_at=at,
        items=1,
    )


R1, R2, R3, R4 = utc(2026, 6, 30, 12), utc(2026, 7, 10), utc(2026, 9, 29), utc(2026, 9, 20)
R5, R6 = utc(2026, 8, 1), utc(2026, 8, 5)

EVENTS: list[Event] = [
    opened("1", R1),
    closed("1", R1, utc(2026, 7, 1, 10)),
    opened("2", R2, "self-submission"),
    closed("2", R2, R2 + 96 * H, "self-submission"),
    opened("3", R3),
    opened("4", R4),
    opened("5", R5),
    RemovalRequestWithdrawn(
        at=R5 + 24 * H, request_id="5", organisation="photoshare", origin="person", reason="x"
    ),
    opened("6", R6),
    closed("6", R6, R6 + 24 * H),
    closed("6", R6, R6 + 96 * H),  # reopened by a copy found again, closed again
    SelfSubmissionReceived(
        at=utc(2026, 7, 2), submission_id="1", programme="minors", shared=True, images=2,
        videos=0, hashes=20,
    ),
    SelfSubmissionReceived(
        at=utc(2026, 7, 3), submission_id="2", programme="adults", shared=False, images=1,
        videos=1, hashes=12,
    ),
    SelfSubmissionWithdrawn(
        at=utc(2026, 8, 3), submission_id="1", programme="minors", hashes_removed=20
    ),
    UploadHeld(at=utc(2026, 7, 9), hold_id="1", organisation="p", bank="b", match_type="near"),
    UploadHeld(at=utc(2026, 7, 9), hold_id="2", organisation="p", bank="b", match_type="exact"),
    HoldDecided(at=utc(2026, 7, 10), hold_id="1", decision="confirm", analyst="ana", bank="b"),
    HoldDecided(at=utc(2026, 7, 10), hold_id="2", decision="not_a_match", analyst="ana", bank="b"),
]  # fmt: skip


def figures(period: str):
    ledger = RequestLedger()
    chosen = parse_period(period)
    for e in sorted(EVENTS, key=lambda e: e.at):
        if e.at < chosen.end:
            ledger.add(e)
    return request_figures(ledger, chosen)


def test_q2_counts_the_request_received_and_still_open_at_its_end() -> None:
    q2 = figures("2026-Q2")
    assert (q2.received, q2.closed, q2.cohort, q2.cohort_closed_in_time) == (1, 0, 1, 0)
    assert (q2.open_at_end, q2.overdue_at_end) == (1, 0)  # due 2 July: not overdue on 30 June
    assert q2.share_closed_in_time == 0.0


def test_q3_counts_closings_with_their_whole_time_and_the_stocks_at_its_end() -> None:
    q3 = figures("2026-Q3")
    assert q3.received == 5  # R2 .. R6
    assert q3.received_by_origin == {"person": 4, "self-submission": 1}
    assert q3.closed == 3  # R1 (received in Q2), R2, R6 once
    assert sorted(q3.closed_hours) == [22.0, 24.0, 96.0]
    assert q3.closed_in_time == 2
    assert q3.median_hours == 24.0
    assert q3.p90_hours == 96.0
    assert q3.cohort == 4  # R2, R3, R4, R6 (R5 withdrawn)
    assert q3.cohort_closed_in_time == 1  # R6
    assert q3.share_closed_in_time == pytest.approx(0.25)
    assert q3.withdrawn == 1
    assert (q3.open_at_end, q3.overdue_at_end) == (2, 1)  # R3 due 1 Oct, R4 overdue
    assert q3.submissions_received == {"adults": 1, "minors": 1}
    assert q3.submissions_withdrawn == {"minors": 1}
    assert q3.hashes_received == 32
    assert (q3.uploads_held, q3.holds_confirmed, q3.holds_not_a_match) == (2, 1, 1)


def test_the_report_carries_them_in_every_format() -> None:
    report = transparency_report(EVENTS, "2026-Q3", now=utc(2026, 10, 2), operator="hotline")
    data = report.to_dict()["removal_requests"]
    assert data["closed"] == 3
    assert data["closed_hours"] == [22.0, 96.0, 24.0]
    rows = list(csv.reader(io.StringIO(render(report, "csv"))))
    mine = {r[2]: r[3] for r in rows if r[0] == "removal_requests"}
    assert mine["cohort_closed_in_time"] == "1"
    assert mine["received_by_origin.self-submission"] == "1"
    html = render(report, "html")
    assert "Removal requests and self-submitted hashes" in html
    assert "1 of 4 (25 %)" in html
    assert "Self-submitted hashes" in html  # the methodology says what they are


def test_the_report_reads_these_kinds_from_the_database() -> None:
    assert set(REQUEST_KINDS) <= set(REPORT_KINDS)
    handled = {name[4:] for name in dir(RequestLedger) if name.startswith("_on_")}
    assert handled == set(REQUEST_KINDS)
