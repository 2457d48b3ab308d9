"""The public transparency report as one self-contained HTML page.

Nothing is loaded from anywhere: the style is inline, the charts are inline SVG
(:mod:`keepdown.reports.charts`), and the data file (per-location durations as CSV) is embedded
as a ``data:`` link, so the page can be saved, mailed or served as it is. Every chart has a
table with the same numbers next to it. :func:`render_html` is what ``keepdown report
transparency --format html`` prints and what a web page can serve.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from keepdown.reports.charts import bar_chart, column_chart, stacked_bar_chart
from keepdown.reports.definitions import DEFINITIONS, REAPPEARANCE_DAYS, Definition
from keepdown.reports.durations import duration_text
from keepdown.reports.exports import render_locations_csv
from keepdown.reports.figures import WINDOWS, RemovalFigures
from keepdown.reports.report import TransparencyReport

__all__ = ["render_html"]

STYLE = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child,td.name{text-align:left}
thead th{background:#eef2f5}
figure{margin:1rem 0 2rem}
figcaption{font-weight:600;margin-bottom:.25rem}
.table{max-width:100%;overflow-x:auto}
.table table{margin-top:0}
dt{font-weight:600;margin-top:.5rem}
.summary td{text-align:left}
"""


def _n(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(_n(c) if not isinstance(c, str) else c)}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    # Wide tables (the league table has 15 columns) scroll inside the page, not past it.
    table = f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="table">{table}</div>'


def _removal_rows(figures: Sequence[RemovalFigures], ranked: bool) -> list[list[Any]]:
    rows = []
    for i, f in enumerate(figures, 1):
        row: list[Any] = [str(i)] if ranked else []
        row += [
            f.name,
            f.country or "–",
            f.notices,
            f.locations,
            f.removed,
            duration_text(f.median_hours),
            duration_text(f.p90_hours),
            duration_text(f.precision_max_hours),
            *(_pct(f.share_within[w]) for w in WINDOWS),
            f.still_present,
            f.withdrawn,
            f.reappearances,
            _pct(f.repeat_share),
            f"{f.disputes_opened} / {f.disputes_upheld} / {f.disputes_rejected}",
        ]
        rows.append(row)
    return rows


REMOVAL_HEADERS = [
    "provider",
    "country",
    "notices",
    "locations notified",
    "confirmed removed",
    "median time to removal",
    "p90 time to removal",
    "removal times late by at most",
    "removed within 24 h",
    "within 7 days",
    "within 42 days",
    "still present at period end",
    "withdrawn (dispute upheld)",
    "reappearances",
    "repeat notices",
    "disputes opened / upheld / rejected",
]


def _league(report: TransparencyReport) -> str:
    measured = [(f.name, f.median_hours) for f in report.league_table if f.median_hours is not None]
    chart = bar_chart("Median time to removal by provider", measured, text=duration_text)
    table = _table(["rank", *REMOVAL_HEADERS], _removal_rows(report.league_table, True))
    return (
        "<h2>League table: who removes, and how fast</h2>"
        f"<figure><figcaption>Median time to removal</figcaption>{chart}</figure>{table}"
    )


def _distribution(report: TransparencyReport) -> str:
    chart = bar_chart("Removals by time to removal", report.distribution)
    table = _table(["time to removal", "removals"], report.distribution)
    return (
        "<h2>Distribution of time to removal</h2>"
        f"<figure><figcaption>Removals confirmed in the period</figcaption>{chart}</figure>"
        f"{table}"
    )


def _trend(report: TransparencyReport) -> str:
    chart = column_chart(
        "Locations notified and removed per month",
        ["notified", "removed"],
        [(r["month"], [r["notified"], r["removed"]]) for r in report.trend],
    )
    table = _table(
        ["month", "notified", "removed", "median time to removal", "still present at month end"],
        [
            [
                r["month"],
                r["notified"],
                r["removed"],
                duration_text(r["median_hours"]),
                r["still_present"],
            ]
            for r in report.trend
        ],
    )
    return (
        "<h2>Trend over twelve months</h2>"
        f"<figure><figcaption>Notified and removed, month by month</figcaption>{chart}</figure>"
        f"{table}"
    )


def _reappearances(report: TransparencyReport) -> str:
    where = ["same_url", "same_provider", "other"]
    rows = [
        (f.name, [f.reappearances_by_where[w] for w in where])
        for f in report.league_table
        if f.reappearances
    ]
    chart = stacked_bar_chart(
        "Reappearances by provider", ["same URL", "same provider", "other provider"], rows
    )
    table = _table(
        ["provider", "same URL", "same provider", "other provider", "repeat notices"],
        [
            [f.name, *(f.reappearances_by_where[w] for w in where), _pct(f.repeat_share)]
            for f in report.league_table
            if f.reappearances or f.repeat_notices
        ],
    )
    return (
        "<h2>Reappearances</h2>"
        f"<figure><figcaption>Known material back after a removal</figcaption>{chart}</figure>"
        f"{table}"
    )


def _detection(report: TransparencyReport) -> str:
    # A public report (keepdown.reports.publication) carries no bank source and no key id:
    # their columns are left out rather than shown empty.
    bank_sources = any(b.bank_source for b in report.banks)
    keys = any(p.key_id for p in report.platforms)
    banks = _table(
        [
            "bank",
            *(["bank source"] if bank_sources else []),
            "detected by",
            "matches",
            "exact",
            "near",
            "confirmed automatically",
            "sent to review",
            "confirmed by review",
            "false positives",
            "error rate",
        ],
        [
            [
                b.bank,
                *([b.bank_source or "–"] if bank_sources else []),
                b.detection,
                b.matches,
                b.exact,
                b.near,
                b.auto_confirmed,
                b.sent_to_review,
                b.review_confirmed,
                b.false_positives,
                _pct(b.error_rate),
            ]
            for b in report.banks
        ],
    )
    platforms = _table(
        [
            *(["platform key"] if keys else []),
            "organisation",
            "checked",
            "blocked",
            "sent to review",
            "allowed",
        ],
        [
            [
                *([p.key_id] if keys else []),
                p.organisation,
                p.checked,
                p.blocked,
                p.sent_to_review,
                p.allowed,
            ]
            for p in report.platforms
        ],
    )
    named_sources = any(s.source for s in report.sources)
    sources = _table(
        [
            "bank",
            *(["source"] if named_sources else []),
            "signal type",
            "matches",
            "confirmed automatically",
            "sent to review",
            "confirmed",
            "not a match",
            "false-positive rate",
            "entries quarantined",
        ],
        [
            [
                s.bank,
                *([s.source or "–"] if named_sources else []),
                s.signal_type,
                s.matches,
                s.auto_confirmed,
                s.sent_to_review,
                s.confirmed,
                s.rejected,
                _pct(s.false_positive_rate),
                s.quarantined,
            ]
            for s in report.sources
        ],
    )
    return (
        f"<h2>Matches per bank, source and detection</h2>{banks}"
        f"<h2>Accuracy per source and signal type</h2>{sources}"
        f"<h2>Platform checks</h2>{platforms}"
    )


def _requests(report: TransparencyReport) -> str:
    """Removal requests and self-submitted hashes (keepdown.reports.requests)."""
    r = report.removal_requests
    if r is None:
        return ""
    origins = ", ".join(f"{k}: {v}" for k, v in r.received_by_origin.items()) or "–"
    programmes = ", ".join(f"{k}: {v}" for k, v in r.submissions_received.items()) or "–"
    withdrawn = ", ".join(f"{k}: {v}" for k, v in r.submissions_withdrawn.items()) or "–"
    rows: list[list[Any]] = [
        ["requests received", r.received],
        ["received, by origin", origins],
        ["requests closed", r.closed],
        ["closed within their deadline", r.closed_in_time],
        ["median time to close", duration_text(r.median_hours)],
        ["p90 time to close", duration_text(r.p90_hours)],
        [
            "requests received in the period closed within their deadline",
            f"{r.cohort_closed_in_time} of {r.cohort} ({_pct(r.share_closed_in_time)})",
        ],
        ["open at period end", r.open_at_end],
        ["overdue at period end", r.overdue_at_end],
        ["withdrawn (ended without removal)", r.withdrawn],
        ["self-submissions received, by programme", programmes],
        ["self-submissions withdrawn, by programme", withdrawn],
        ["self-submitted hashes received", r.hashes_received],
        ["uploads held for review", r.uploads_held],
        ["held uploads confirmed / not a match", f"{r.holds_confirmed} / {r.holds_not_a_match}"],
    ]
    return "<h2>Removal requests and self-submitted hashes</h2>" + _table(
        ["figure", "value"], rows
    ).replace("<table>", '<table class="summary">', 1)


def _times(v: dict[str, Any]) -> str:
    if not v.get("n"):
        return "–"
    return (
        f"p50 {duration_text(v['p50_hours'])} · p90 {duration_text(v['p90_hours'])} · "
        f"p99 {duration_text(v['p99_hours'])} ({v['n']})"
    )


def _definition_value(d: Definition, v: dict[str, Any]) -> str:
    if d.id == "time_from_report":
        return f"{_times(v)}; {v['without_report']} without a report"
    if d.id == "share_over_42_days":
        return f"{_pct(v['share'])} ({v['over']} of {v['decided']}; {v['undecided']} undecided)"
    if d.id == "removed_within":
        parts = [f"{label}: {_pct(w['share'])}" for label, w in v.items() if label != "cohort"]
        return " · ".join(parts) + f" (of {v['cohort']})"
    if d.id == "same_provider_reappearance":
        return f"{_pct(v['share'])} ({v['reappeared']} of {v['of']})"
    return _times(v)


def _definitions(report: TransparencyReport) -> str:
    """The field's definitions of removal time, side by side (keepdown.reports.definitions)."""
    totals = report.field_totals
    if totals is None:
        return ""
    rows = [
        [d.name, d.style, d.starts, d.stops, _definition_value(d, totals.values[d.id])]
        for d in DEFINITIONS
    ]
    headers = ["figure", "as defined by", "clock starts", "clock stops", "all providers"]
    table = _table(headers, rows)
    per_provider = [
        [
            f.name,
            duration_text(f.values["keepdown_time_to_removal"]["p50_hours"]),
            duration_text(f.values["time_from_report"]["p50_hours"]),
            duration_text(f.values["time_from_notice"]["p50_hours"]),
            _pct(f.values["share_over_42_days"]["share"]),
            _pct(f.values["removed_within"]["24h"]["share"]),
            _pct(f.values["removed_within"]["7d"]["share"]),
            _pct(f.values["same_provider_reappearance"]["share"]),
        ]
        for f in report.field_providers
    ]
    columns = [
        "provider",
        "keepdown p50",
        "INHOPE-style p50",
        "IWF-style p50",
        "C3P-style over 42 days",
        "within 24 h",
        "within 7 days",
        f"reappeared within {REAPPEARANCE_DAYS} days",
    ]
    return (
        "<h2>The field's definitions, side by side</h2><p>The same removals, measured as "
        "hotlines publish them, so these figures can be set beside published ones. Each "
        "definition is in the methodology below.</p>"
        f"{table}{_table(columns, per_provider, 'per provider')}"
    )


def _precision(f: RemovalFigures) -> str:
    if f.precision_max_hours is None:
        return "–"
    return f"{duration_text(f.precision_median_hours)} / {duration_text(f.precision_max_hours)}"


def _summary(report: TransparencyReport) -> str:
    t = report.totals
    rows: list[list[Any]] = [
        ["notices sent", t.notices],
        ["locations notified", t.locations],
        ["locations confirmed removed", t.removed],
        ["median time to removal", duration_text(t.median_hours)],
        ["p90 time to removal", duration_text(t.p90_hours)],
        ["removal times late by at most (median / largest)", _precision(t)],
        ["median detection to notice", duration_text(t.median_detection_hours)],
        ["reported URLs that led to a notice", t.reports_noticed],
        ["median report to notice", duration_text(t.median_report_hours)],
        ["median notice to acknowledgement", duration_text(t.median_ack_hours)],
        ["still present at period end", t.still_present],
        ["withdrawn in the period (dispute upheld)", t.withdrawn],
        ["reappearances", t.reappearances],
    ]
    return "<h2>Summary</h2>" + _table(["figure", "value"], rows).replace(
        "<table>", '<table class="summary">', 1
    )


def _minute(moment: datetime) -> str:
    """A time for people: to the minute, in UTC (no seconds or microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_html(report: TransparencyReport) -> str:
    """The whole report as one HTML document (module docstring)."""
    p = report.period
    data = base64.b64encode(render_locations_csv(report).encode()).decode()
    name = f"keepdown-transparency-{p.label.replace('..', '_')}-locations.csv"
    methodology = "".join(
        f"<dt>{escape(a)}</dt><dd>{escape(b)}</dd>" for a, b in report.methodology
    )
    countries = _table(REMOVAL_HEADERS, _removal_rows(report.countries, False)).replace(
        '<th scope="col">provider</th>', '<th scope="col">country code</th>', 1
    )
    title = f"Transparency report {p.label}"
    if report.operator:
        title += f" — {report.operator}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>Period {escape(p.start.date().isoformat())} to {escape(p.last_day.isoformat())} "
        f"(UTC). Generated {escape(_minute(report.generated_at))} from keepdown's event "
        "log. No URL of material, no hash and no image appears in this report.</p>"
        f"{_summary(report)}{_league(report)}{_distribution(report)}{_trend(report)}"
        f"{_reappearances(report)}<h2>By country of the provider</h2>{countries}"
        f"{_detection(report)}{_requests(report)}{_definitions(report)}"
        f"<h2>Methodology</h2><p>{escape(report.period_rule)}</p><dl>{methodology}</dl>"
        "<h2>Data</h2><p>Every duration behind these figures, one row per location: "
        f'<a download="{escape(name)}" href="data:text/csv;base64,{data}">'
        f"{escape(name)}</a> ({len(report.locations)} rows). The JSON export "
        "(<code>--format json</code>) carries the same rows with every figure.</p>"
        f"{_provenance(report)}</body></html>\n"
    )


def _provenance(report: TransparencyReport) -> str:
    """What the figures were computed from, readable and as JSON (``report verify`` reads the
    ``keepdown-provenance`` block; the signature over this file is detached)."""
    if report.provenance is None:
        return ""
    rows = _table(["what", "value"], report.provenance.summary())
    return (
        "<h2>Provenance</h2><p>These figures can be recomputed from keepdown's event log: "
        "the events, the chain head and the definitions below. The file's detached signature "
        "(<code>.sig</code>) is made with the key named here; <code>keepdown report verify"
        "</code> checks both.</p>"
        f'{rows}<pre id="keepdown-provenance">{escape(report.provenance.to_json())}</pre>'
    )
