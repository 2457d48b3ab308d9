"""Durations as people read them (keepdown/reports/durations.py): minutes under an hour, so a
removal within minutes never reads "0.0 h" (issue 25, item 2); the JSON keeps hours."""

from __future__ import annotations

import pytest

from keepdown.reports.durations import duration_text


@pytest.mark.parametrize(
    ("hours", "shown"),
    [
        (None, "–"),
        (0.0, "0 s"),
        (40 / 3600, "40 s"),
        (3 / 60, "3 min"),
        (0.1, "6 min"),
        (59 / 60, "59 min"),
        (59.6 / 60, "1.0 h"),  # would round to 60 min: shown as an hour
        (1.0, "1.0 h"),
        (26.5, "26.5 h"),
    ],
)
def test_minutes_under_an_hour_hours_above(hours, shown):
    assert duration_text(hours) == shown


def test_missing_can_be_spelled():
    assert duration_text(None, missing="-") == "-"
