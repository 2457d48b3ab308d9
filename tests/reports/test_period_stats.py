"""Periods and the statistics, by hand."""

from __future__ import annotations

import pytest

from keepdown.clock import utc
from keepdown.errors import InvalidInput
from keepdown.reports.period import month_periods, parse_period
from keepdown.reports.stats import median, p90, share


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", utc(2026, 1, 1), utc(2027, 1, 1)),
        ("2026-H2", utc(2026, 7, 1), utc(2027, 1, 1)),
        ("2026-q3", utc(2026, 7, 1), utc(2026, 10, 1)),
        ("2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("2026-09", utc(2026, 9, 1), utc(2026, 10, 1)),
        ("2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),
        ("2026-07-01..2026-09-30", utc(2026, 7, 1), utc(2026, 10, 1)),
        ("2026-02-01/2026-02-28", utc(2026, 2, 1), utc(2026, 3, 1)),
        # a single day, and a range of one day (issue 25, item 4)
        ("2026-07-01", utc(2026, 7, 1), utc(2026, 7, 2)),
        ("2026-07-01..2026-07-01", utc(2026, 7, 1), utc(2026, 7, 2)),
        ("2026-W27", utc(2026, 6, 29), utc(2026, 7, 6)),  # ISO week: Monday to Sunday
    ],
)
def test_periods(text, start, end):
    p = parse_period(text)
    assert (p.start, p.end) == (start, end)
    assert start in p
    assert end not in p


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Q3",
        "2026-Q5",
        "2026-13",
        "2026-02-30..2026-03-01",
        "2026-09-30..2026-09-01",
        "2026-02-30",
        "2026-W54",
    ],
)
def test_bad_periods_are_clear_errors(text):
    with pytest.raises(InvalidInput):
        parse_period(text)


def test_month_periods_cross_a_year():
    months = month_periods(utc(2026, 3, 1), 4)
    assert [m.label for m in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months[1].end == months[2].start == utc(2026, 1, 1)


def test_statistics_by_hand():
    assert median([]) is None
    assert p90([]) is None
    assert median([5.0]) == 5.0
    assert p90([5.0]) == 5.0
    assert median([1.0, 3.0]) == 2.0
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert p90(values) == 9.0  # ceil(9.0) = 9th value
    assert p90([*values, 11.0]) == 10.0  # ceil(9.9) = 10th
    assert share(1, 4) == 0.25
    assert share(1, 0) is None
