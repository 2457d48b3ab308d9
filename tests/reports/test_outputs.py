"""Every output format: aggregates only (no URL, no hash), self-contained HTML whose charts
carry their numbers, CSV and JSON that say the same as the figures, the regulator view."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from dataclasses import replace

import pytest

from keepdown.clock import utc
from keepdown.errors import InvalidInput
from keepdown.reports import (
    FORMATS,
    REGULATOR_FORMATS,
    build_report,
    parse_period,
    render,
    render_regulator,
)
from keepdown.reports.regulator import REGULATOR_FIELDS, regulator_view

from .scenario import PLANTED_PAGES, PLANTED_PDQ, PLANTED_SHA256, PLANTED_URLS, A, B, history

Q3 = parse_period("2026-Q3")


@pytest.fixture(scope="module")
def report():
    return build_report(history(), Q3, generated_at=utc(2026, 10, 5), operator="Test Hotline")


def outputs(report) -> dict[str, str]:
    found = {f"public/{fmt}": render(report, fmt) for fmt in FORMATS}
    found |= {f"regulator/{fmt}": render_regulator(report, fmt) for fmt in REGULATOR_FORMATS}
    # what the HTML embeds (the data file as a data: link) is an output too
    for n, blob in enumerate(re.findall(r"base64,([A-Za-z0-9+/=]+)", found["public/html"])):
        found[f"embedded/{n}"] = base64.b64decode(blob).decode()
    return found


def test_no_url_no_hash_in_any_output(report):
    planted = [*PLANTED_URLS, *PLANTED_PAGES, *PLANTED_SHA256, PLANTED_PDQ]
    planted += [u.split("//", 1)[1] for u in PLANTED_URLS]  # without the scheme
    planted += ["example.test", "planted-"]
    found = outputs(report)
    assert len(found) == 7
    for name, text in found.items():
        low = text.lower()
        for value in planted:
            assert value.lower() not in low, (name, value)
        # nothing that even looks like a hash: 32+ hex digits in a row
        assert not re.search(r"[0-9a-f]{32,}", low), name
        low = low.replace('xmlns="http://www.w3.org/2000/svg"', "")  # the SVG namespace
        assert "http://" not in low, name
        assert "https://" not in low, name


def test_html_is_self_contained_with_readable_charts(report):
    html = render(report, "html")
    assert html.startswith("<!doctype html>")
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html
    assert "url(" not in html
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 4  # league, distribution, trend, reappearances
    for svg in svgs:
        assert 'role="img"' in svg
        assert "<title" in svg
        assert "<desc" in svg
    league = svgs[0]
    # the chart carries its numbers: A's median 24 h, B's 72 h, each drawn and written
    assert f"{A}: 24.0 h" in league
    assert f"{B}: 72.0 h" in league
    assert ">24.0 h<" in league
    assert ">72.0 h<" in league
    distribution = svgs[1]
    assert "1-24 h: 2" in distribution
    assert "7-14 days: 1" in distribution
    # a table with the same numbers next to each chart
    assert html.count("<table") >= 8
    for term, _ in report.methodology:
        assert term.replace("&", "&amp;").replace("'", "&#x27;") in html


def test_league_table_order_and_values_in_html(report):
    html = render(report, "html")
    league = html[html.index("League table") : html.index("Distribution of time")]
    assert league.index(A) < league.index(B) < league.index("Cloud C")
    assert "<td>24.0 h</td>" in league
    assert "<td>240.0 h</td>" in league


def test_json_says_what_the_figures_say(report):
    doc = json.loads(render(report, "json"))
    assert doc["period"]["label"] == "2026-Q3"
    assert [row["name"] for row in doc["league_table"]] == [A, B, "Cloud C"]
    assert doc["league_table"][0]["rank"] == 1
    assert doc["league_table"][0]["median_hours"] == 24.0
    assert doc["totals"]["median_hours"] == 48.0
    assert len(doc["locations"]) == 7
    assert doc["reappearances"] == [
        {"provider": "Cloud C", "same_url": 0, "same_provider": 0, "other": 1}
    ]
    # the data file is enough to recompute the medians
    hours = sorted(r["hours_to_removal"] for r in doc["locations"] if r["removed_in_period"])
    assert hours == [6.0, 24.0, 72.0, 240.0]


def test_csv_long_form_and_data_file(report):
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    value = {(r["section"], r["subject"], r["figure"]): r["value"] for r in rows}
    assert value[("league_table", A, "median_hours")] == "24.0"
    assert value[("league_table", A, "share_within.42d")] == str(round(2 / 3, 4))
    assert value[("totals", "all providers", "still_present")] == "2"
    assert value[("banks", "b2 (crawl)", "error_rate")] == "0.5"
    assert value[("distribution", "1-24 h", "removals")] == "2"
    data = list(csv.DictReader(io.StringIO(render(report, "data-csv"))))
    assert len(data) == 7
    assert {r["status_at_period_end"] for r in data} == {"removed", "present", "withdrawn"}


def test_regulator_view_fills_what_events_allow_and_says_what_they_do_not(report):
    rows = regulator_view(report)
    assert len(rows) == len(REGULATOR_FIELDS)
    by_field = {r["field"]: r for r in rows}
    assert by_field["art15_1_b.notices_submitted"]["value"] == 5
    assert by_field["art15_1_b.median_time_to_action"]["value"] == 48.0
    assert by_field["art15_1_e.automated_means.indicators_of_accuracy"]["value"] == 0.5
    assert by_field["icu_c9.proportion_reviewed_by_human_moderators"]["value"] == 0.25
    assert by_field["sor.automated_decision=AUTOMATED_DECISION_FULLY"]["value"] == 6 + 3
    assert by_field["bose.known_csem_detection_tools"]["value"] == "sha256=9"
    missing = [r for r in rows if r["status"] == "not_available"]
    assert missing, "some fields cannot be filled from events"
    assert all(r["value"] is None and r["note"] for r in missing)
    regimes = {r["regime"] for r in rows}
    assert regimes == {"EU DSA", "UK OSA", "AU eSafety"}
    doc = json.loads(render_regulator(report, "json"))
    assert len(doc["fields"]) == len(rows)
    table = list(csv.DictReader(io.StringIO(render_regulator(report, "csv"))))
    assert [r["field"] for r in table] == [r["field"] for r in rows]


def test_items_sent_to_review_are_not_counted_as_reviewed(report):
    """Issue 15: with no human decision yet, the UK share was 0.2 while the EU and AU
    human-review counts were 0. Every regime reads one count of human decisions."""
    undecided = replace(
        report,
        banks=tuple(replace(b, review_confirmed=0, false_positives=0) for b in report.banks),
    )
    assert sum(b.sent_to_review for b in undecided.banks) > 0
    by_field = {r["field"]: r["value"] for r in regulator_view(undecided)}
    assert by_field["icu_c9.proportion_reviewed_by_human_moderators"] == 0.0
    assert by_field["bose.human_review_of_detections"] == 0
    assert by_field["sor.automated_decision=AUTOMATED_DECISION_NOT_AUTOMATED"] == 0

    by_field = {r["field"]: r["value"] for r in regulator_view(report)}
    humans = by_field["bose.human_review_of_detections"]
    assert humans == by_field["sor.automated_decision=AUTOMATED_DECISION_NOT_AUTOMATED"] > 0
    detected = by_field["icu_c9.content_detected_by_hash_matching"]
    share = by_field["icu_c9.proportion_reviewed_by_human_moderators"]
    assert share == pytest.approx(humans / detected, abs=1e-4)


def test_unknown_format_is_a_clear_error(report):
    with pytest.raises(InvalidInput, match="html"):
        render(report, "pdf")
    with pytest.raises(InvalidInput, match="csv"):
        render_regulator(report, "html")


def test_an_empty_period_says_no_data_and_times_are_to_the_minute():
    """Issue 15: empty charts were blank boxes, the generation time carried microseconds, and
    the league table ran past the page."""
    empty = build_report(
        [],
        parse_period("2026-Q1"),
        generated_at=utc(2026, 4, 1, 9, 30, 15).replace(microsecond=123456),
    )
    page = render(empty, "html")
    charts = re.findall(r"<svg.*?</svg>", page)
    assert charts
    assert all("No data for this period." in chart for chart in charts)
    assert "Generated 2026-04-01 09:30 UTC" in page
    assert ".123456" not in page
    assert re.search(r"\d{2}:\d{2}:\d{2}", page.split("<pre", 1)[0]) is None


def test_every_table_can_scroll_inside_the_page(report):
    page = render(report, "html")
    tables = page.count("<table")
    assert tables > 3
    assert page.count('<div class="table"><table') == tables
    assert ".table{max-width:100%;overflow-x:auto}" in page
