"""Transparency: figures computed from events alone, and the reports that publish them.

Modules, in the order a report is made:

- :mod:`~keepdown.reports.period`: which period (``2026-Q3``, ``2026-09``, a date range);
- :mod:`~keepdown.reports.ledger`: events folded into facts (no URL, no hash kept);
- :mod:`~keepdown.reports.figures`: per provider, per country, per bank and source, per
  platform key; which period each fact counts in;
- :mod:`~keepdown.reports.running`: the same figures as the operator's running view
  (``keepdown notices figures``, the notices API and web pages read them from here);
- :mod:`~keepdown.reports.durations`: durations as text (minutes under an hour);
- :mod:`~keepdown.reports.report`: the league table, distribution, trend, data file;
- :mod:`~keepdown.reports.html_report`, :mod:`~keepdown.reports.exports`,
  :mod:`~keepdown.reports.charts`: HTML (self-contained, SVG charts), CSV and JSON;
- :mod:`~keepdown.reports.regulator`: the fields of the EU DSA, UK OSA and eSafety asks.

Pure functions over events: nothing here reads a database. See docs/transparency.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from keepdown.errors import InvalidInput
from keepdown.events import Event
from keepdown.reports.durations import duration_text
from keepdown.reports.exports import render_csv, render_json, render_locations_csv
from keepdown.reports.figures import RemovalFigures
from keepdown.reports.html_report import render_html
from keepdown.reports.period import Period, parse_period, to_date
from keepdown.reports.regulator import render_regulator_csv, render_regulator_json
from keepdown.reports.report import TransparencyReport, build_report
from keepdown.reports.running import RunningFigures, provider_row, running_figures

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "REGULATOR_FORMATS",
    "Period",
    "RemovalFigures",
    "RunningFigures",
    "TransparencyReport",
    "build_report",
    "duration_text",
    "parse_period",
    "provider_row",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_locations_csv",
    "render_regulator",
    "running_figures",
    "to_date",
    "transparency_report",
]

FORMATS = {
    "html": render_html,
    "json": render_json,
    "csv": render_csv,
    "data-csv": render_locations_csv,
}
REGULATOR_FORMATS = {"json": render_regulator_json, "csv": render_regulator_csv}
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "data-csv": "text/csv; charset=utf-8",
}


def _pick(table: dict, fmt: str) -> object:
    try:
        return table[fmt]
    except KeyError:
        raise InvalidInput(
            f"unknown format {fmt!r}; use one of {', '.join(table)}", format=fmt
        ) from None


def render(report: TransparencyReport, fmt: str) -> str:
    """The public report in ``fmt`` (html, json, csv, or data-csv for the data file)."""
    return _pick(FORMATS, fmt)(report)  # type: ignore[operator, no-any-return]


def render_regulator(report: TransparencyReport, fmt: str) -> str:
    """The regulator view in ``fmt`` (json or csv)."""
    return _pick(REGULATOR_FORMATS, fmt)(report)  # type: ignore[operator, no-any-return]


def transparency_report(
    events: Iterable[Event], period: str | Period, *, now: datetime, operator: str = ""
) -> TransparencyReport:
    """The report of ``period`` (text like ``2026-Q3`` or a :class:`Period`) from ``events``."""
    chosen = parse_period(period) if isinstance(period, str) else period
    return build_report(events, chosen, generated_at=now, operator=operator)
