"""The trusted flagger's report (DSA Art. 22(3)) from the hand-made history of the figure tests:
the same numbers as the transparency report, arranged by provider, type of content and
action, with no URL or hash in any format."""

from __future__ import annotations

import csv
import io
import json

import pytest

from keepdown.filings.flagger import CONTENT_TYPE, flagger_report, render
from keepdown.reports.period import parse_period
from tests.reports.scenario import PLANTED_SHA256, PLANTED_URLS, A, B, C, history

from .conftest import T0

Q3 = parse_period("2026-Q3")


@pytest.fixture(scope="module")
def report():
    return flagger_report(
        history(),
        Q3,
        operator="Test Hotline",
        generated_at=T0,
        independence="We are funded by ... and decide alone.",
    )


def test_notices_and_actions_by_provider_by_hand(report):
    lines = {p.provider: p for p in report.providers}
    assert set(lines) == {A, B, C}
    a, b, c = lines[A], lines[B], lines[C]
    assert (a.notices, a.locations, a.removed, a.removed_within_24h, a.still_present_at_end) == (
        2,
        3,
        3,
        1,
        1,
    )
    assert a.median_hours_to_removal == 24.0
    assert (b.notices, b.locations, b.removed, b.withdrawn_after_dispute) == (2, 1, 1, 1)
    assert (c.notices, c.removed, c.still_present_at_end) == (1, 0, 1)
    assert report.totals.notices == 5
    assert report.totals.removed == 4


def test_every_format_carries_the_figures_and_nothing_identifying(report):
    data = json.loads(render(report, "json"))
    assert data["notices_by_type_of_content"] == [
        {"type": CONTENT_TYPE, "notices": 5, "locations": report.totals.locations}
    ]
    assert data["independence"].startswith("We are funded")
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert {"section": "provider", "subject": A, "figure": "notices", "value": "2"} in rows
    text = render(report, "text")
    assert "Article 22(3)" in data["report"]
    assert "Independence:" in text
    for output in (render(report, f) for f in ("json", "csv", "text")):
        for secret in PLANTED_URLS + PLANTED_SHA256:
            assert secret not in output


def test_without_an_independence_statement_the_report_says_so():
    bare = flagger_report(history(), Q3, operator="H", generated_at=T0)
    assert "not given" in bare.independence


def test_an_unknown_format_is_refused(report):
    with pytest.raises(ValueError, match="unknown format"):
        render(report, "pdf")
