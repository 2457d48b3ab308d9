"""The trusted flagger's report (DSA Art. 22(3)), computed from the events.

Article 22(3): a trusted flagger publishes, at least once a year, a report on the notices it
submitted under Article 16, listing at least the number of notices categorised by (a) the
identity of the hosting service provider, (b) the type of allegedly illegal content notified
and (c) the action taken by the provider, with an explanation of the procedures that keep
the trusted flagger independent.

keepdown's notices are those of its operator (a hotline). The figures are the transparency
report's own (``keepdown.reports``: one computation, the same period rule), arranged the
Article's way:

- (a) per provider: notices first sent in the period (re-notices apart), locations they
  named (the cohort: first notified in the period);
- (b) the type of content: keepdown notifies known child sexual abuse material (matched by
  hash against a bank of it) and nothing else, so there is one type;
- (c) the action, per provider, for the locations notified in the period: removed (confirmed
  by keepdown's own re-check, with the median time), of which within 24 hours; the provider
  said it removed it but a check still found it (reported, not confirmed); withdrawn after a
  dispute keepdown upheld (no action was due); still present at the end of the period.

The independence statement is the operator's own words (a text file the operator names);
keepdown states facts only. Output: JSON, CSV (long form) and plain text. Each carries the
report's provenance when it has one (keepdown.reports.provenance: the events it was computed
from, the chain head, the code and definitions): JSON under ``"provenance"``, CSV in
``provenance`` rows, text in its first line; keepdown.app.evidence publishes it signed, as it
does the transparency reports.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keepdown.events import Event
from keepdown.reports.exports import PROVENANCE_COMMENT, provenance_lines
from keepdown.reports.figures import RemovalFigures
from keepdown.reports.period import Period
from keepdown.reports.provenance import Provenance
from keepdown.reports.report import build_report

__all__ = ["CONTENT_TYPE", "FlaggerReport", "flagger_report", "render"]

CONTENT_TYPE = "Child sexual abuse material (known material, matched by hash)"


@dataclass(frozen=True)
class ProviderLine:
    provider: str
    country: str
    notices: int
    locations: int
    removed: int
    removed_within_24h: int
    median_hours_to_removal: float | None
    reported_not_confirmed: int
    withdrawn_after_dispute: int
    still_present_at_end: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FlaggerReport:
    operator: str
    period: Period
    generated_at: datetime
    providers: tuple[ProviderLine, ...]
    totals: ProviderLine
    independence: str
    provenance: Provenance | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "trusted flagger report (Regulation (EU) 2022/2065, Article 22(3))",
            "trusted_flagger": self.operator,
            "period": self.period.to_dict(),
            "generated_at": self.generated_at.isoformat(),
            "notices_by_provider": [p.to_dict() for p in self.providers],
            "notices_by_type_of_content": [
                {
                    "type": CONTENT_TYPE,
                    "notices": self.totals.notices,
                    "locations": self.totals.locations,
                }
            ],
            "action_taken": self.totals.to_dict(),
            "independence": self.independence,
            **({"provenance": self.provenance.to_dict()} if self.provenance else {}),
        }


def _line(name: str, country: str, f: RemovalFigures) -> ProviderLine:
    return ProviderLine(
        provider=name,
        country=country,
        notices=f.notices,
        locations=f.locations,
        removed=f.removed,
        removed_within_24h=f.removed_within.get("24h", 0),
        median_hours_to_removal=f.median_hours,
        reported_not_confirmed=f.removals_reported,
        withdrawn_after_dispute=f.withdrawn,
        still_present_at_end=f.still_present,
    )


def flagger_report(
    events: Iterable[Event],
    period: Period,
    *,
    operator: str,
    generated_at: datetime,
    independence: str = "",
) -> FlaggerReport:
    """The report for ``period`` from ``events`` (module docstring)."""
    figures = build_report(events, period, generated_at=generated_at, operator=operator)
    providers = tuple(
        _line(f.name, f.country, f)
        for f in sorted(figures.league_table, key=lambda f: (f.name.lower(), f.key))
        if f.notices or f.locations
    )
    return FlaggerReport(
        operator=operator,
        period=period,
        generated_at=generated_at,
        providers=providers,
        totals=_line("all providers", "", figures.totals),
        independence=independence.strip()
        or "(the trusted flagger's statement on its independence is not given)",
    )


def render(report: FlaggerReport, fmt: str) -> str:
    """``json``, ``csv`` (section, subject, figure, value) or ``text``."""
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(report)
    if fmt == "text":
        return _text(report)
    raise ValueError(f"unknown format {fmt!r}")


def _csv(report: FlaggerReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "subject", "figure", "value"])
    for figure, value in provenance_lines(report.provenance):
        writer.writerow(["provenance", "", figure, value])
    for line in (*report.providers, report.totals):
        section = "total" if line is report.totals else "provider"
        for figure, value in line.to_dict().items():
            if figure not in ("provider", "country"):
                writer.writerow([section, line.provider, figure, "" if value is None else value])
    writer.writerow(["type_of_content", CONTENT_TYPE, "notices", report.totals.notices])
    return out.getvalue()


def _text(report: FlaggerReport) -> str:
    p = report.period
    first = [PROVENANCE_COMMENT + report.provenance.to_json()] if report.provenance else []
    lines = [
        *first,
        f"Trusted flagger report (DSA Art. 22(3)): {report.operator}",
        f"Period: {p.label} ({p.start.date()} to {p.end.date()}, end excluded)",
        "",
        "Notices by hosting service provider and the action taken:",
        f"{'provider':30} {'notices':>7} {'locations':>9} {'removed':>7} {'<24h':>5} "
        f"{'reported':>8} {'withdrawn':>9} {'present':>7}",
    ]
    for line in (*report.providers, report.totals):
        lines.append(
            f"{line.provider[:30]:30} {line.notices:7d} {line.locations:9d} {line.removed:7d} "
            f"{line.removed_within_24h:5d} {line.reported_not_confirmed:8d} "
            f"{line.withdrawn_after_dispute:9d} {line.still_present_at_end:7d}"
        )
    lines += [
        "",
        f"Type of content notified: {CONTENT_TYPE}: {report.totals.notices} notices.",
        "",
        "Independence:",
        report.independence,
        "",
    ]
    return "\n".join(lines)
