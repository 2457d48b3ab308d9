"""The report as JSON and CSV, and the per-location data file as CSV.

- :func:`render_json`: the whole report (:meth:`TransparencyReport.to_dict`), figures,
  methodology and the per-location rows;
- :func:`render_csv`: every figure in long form, one ``section,subject,figure,value`` row each,
  so a spreadsheet can pivot it;
- :func:`render_locations_csv`: the data file: one row per location, durations only.

Each carries the report's provenance (keepdown.reports.provenance) when it has one: the JSON
under ``"provenance"``, the long-form CSV in ``provenance`` rows (a few to read, and one whose
value is the whole provenance as JSON), the data file as its first line, a ``#`` comment
(``pandas.read_csv(..., comment="#")`` skips it).
"""

from __future__ import annotations

import io
import json
from typing import Any

from keepdown.reports.provenance import Provenance
from keepdown.reports.report import TransparencyReport
from keepdown.spreadsheet import dict_writer, rows_writer

__all__ = [
    "LOCATION_COLUMNS",
    "PROVENANCE_COMMENT",
    "provenance_lines",
    "provenance_rows",
    "render_csv",
    "render_json",
    "render_locations_csv",
]

LOCATION_COLUMNS = (
    "row",
    "provider",
    "country",
    "detected_at",
    "first_notice_at",
    "removed_at",
    "confirmed_at",
    "hours_to_removal",
    "precision_hours",
    "hours_detection_to_notice",
    "notified_in_period",
    "counted_as_notified",
    "removed_in_period",
    "status_at_period_end",
    "reappearance",
)


def render_json(report: TransparencyReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out = []
        for key, inner in value.items():
            out += _flat(f"{prefix}.{key}" if prefix else str(key), inner)
        return out
    if isinstance(value, list):
        return []  # per-removal lists live in the data file
    return [(prefix, value)]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value


#: The first characters of the data file's provenance line.
PROVENANCE_COMMENT = "# keepdown provenance: "


def provenance_rows(report: TransparencyReport) -> list[tuple[str, str]]:
    """(figure, value) rows of the report's provenance (:func:`provenance_lines`)."""
    return provenance_lines(report.provenance)


def provenance_lines(provenance: Provenance | None) -> list[tuple[str, str]]:
    """(figure, value) rows of a provenance: the readable ones, then ``json``, the whole."""
    if provenance is None:
        return []
    rows = [(name, str(value)) for name, value in provenance.summary()]
    return [*rows, ("json", provenance.to_json())]


def render_csv(report: TransparencyReport) -> str:
    data = report.to_dict()
    out = io.StringIO()
    writer = rows_writer(out)
    writer.writerow(("section", "subject", "figure", "value"))
    for figure, value in provenance_rows(report):
        writer.writerow(("provenance", "", figure, value))
    writer.writerow(("period", data["period"]["label"], "start", data["period"]["start"]))
    writer.writerow(("period", data["period"]["label"], "end", data["period"]["end"]))
    for figure, value in _flat("", data["totals"]):
        if figure not in ("key", "name", "country"):
            writer.writerow(("totals", "all providers", figure, _cell(value)))
    for section, subject in (
        ("league_table", "name"),
        ("countries", "key"),
        ("banks", "bank"),
        ("accuracy_by_source", "bank"),
        ("platforms", "key_id"),
    ):
        for row in data[section]:
            name = row[subject]
            if section == "banks":
                name = f"{row['bank']} ({row['detection']})"
            elif section == "accuracy_by_source":
                name = f"{row['bank']} ({row['signal_type']})"
            for figure, value in _flat("", row):
                if figure not in ("key", "name", subject):
                    writer.writerow((section, name, figure, _cell(value)))
    for figure, value in _flat("", data.get("removal_requests") or {}):
        writer.writerow(("removal_requests", "all platforms", figure, _cell(value)))
    definitions = data["definitions"]
    for row in [definitions["all_providers"], *definitions["providers"]]:
        for figure, value in _flat("", row or {}):
            if figure not in ("key", "name"):
                writer.writerow(("definitions", row["name"], figure, _cell(value)))
    for row in data["distribution"]:
        writer.writerow(("distribution", row["bucket"], "removals", row["removals"]))
    for row in data["trend"]:
        for figure, value in row.items():
            if figure != "month":
                writer.writerow(("trend", row["month"], figure, _cell(value)))
    return out.getvalue()


def render_locations_csv(report: TransparencyReport) -> str:
    out = io.StringIO()
    if report.provenance is not None:
        out.write(PROVENANCE_COMMENT + report.provenance.to_json() + "\r\n")
    writer = dict_writer(out, LOCATION_COLUMNS)
    writer.writeheader()
    for row in report.locations:
        writer.writerow({k: _cell(row[k]) for k in LOCATION_COLUMNS})
    return out.getvalue()
