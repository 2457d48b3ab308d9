"""The field's definitions of removal time, named and side by side (issue 23).

Published removal times are not comparable as they stand: hotlines start and stop their
clocks in different places and summarise differently. keepdown computes its own figure and,
from the same events and the same ledger (keepdown.reports.ledger, the one computation every
view reads), the figures as other organisations define theirs, each named and defined in
words, so a deployment's figures can be set beside published ones. The styles are keepdown's
reading of each organisation's published measure, computed from keepdown's own events; they
are labelled "-style" because the organisations' own data and procedures differ.

Each :class:`Definition` is one row of the report's "definitions" table; :func:`field_figures`
gives its value per provider (and for all providers) for a period, under the report's period
rule (docs/transparency.md):

- **flows** (durations): over the removals confirmed in the period;
- **shares within a time** and **over 42 days**: over the locations first notified in the
  period (the cohort, less those withdrawn), removed within the time *and* confirmed before the
  period end; "over 42 days" counts only locations whose 42 days had run by the period end or
  that were removed sooner (the rest are undecided, and counted apart);
- **reappearance within N days**: of the removals confirmed in the period, those whose material
  was found again at the same provider (same URL or another URL there) within N days of the
  removal, by the period end.

Percentiles are nearest-rank (always a measured value): p50, p90, p99.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from keepdown.reports.ledger import Ledger, LocationRecord
from keepdown.reports.period import Period
from keepdown.reports.stats import hours, percentile, share

__all__ = [
    "DEFINITIONS",
    "REAPPEARANCE_DAYS",
    "WITHIN",
    "Definition",
    "FieldFigures",
    "field_figures",
]

#: The windows of the "removed within" shares.
WITHIN: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "48h": timedelta(hours=48),
    "72h": timedelta(hours=72),
    "7d": timedelta(days=7),
}
C3P_DAYS = 42
#: The N of "same-provider reappearance within N days".
REAPPEARANCE_DAYS = 30


@dataclass(frozen=True)
class Definition:
    """One named figure: who defines it so, where its clock starts and stops, what is shown."""

    id: str
    name: str
    style: str
    starts: str
    stops: str
    statistic: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "style": self.style,
            "clock_starts": self.starts,
            "clock_stops": self.stops,
            "statistic": self.statistic,
            "definition": self.text,
        }


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "keepdown_time_to_removal",
        "Time to removal",
        "keepdown",
        "the first notice naming the location",
        "the first re-check that found it gone",
        "p50, p90, p99 (hours) of the removals confirmed in the period",
        "keepdown's own figure: from the first removal notice naming a location to the first "
        "keepdown re-check that found it gone; a provider's own 'removed' does not stop the "
        "clock. Late by at most the time since the check before (the precision figures).",
    ),
    Definition(
        "time_from_report",
        "Time from first report",
        "INHOPE-style",
        "the first report of the URL to the hotline",
        "the first re-check that found it gone",
        "p50, p90, p99 (hours); locations with no report counted apart",
        "As INHOPE's hotlines count: the clock starts when the public (or a trusted flagger, or "
        "another hotline) reported the URL whose crawl found the material "
        "(UrlReported -> SightingRecorded.crawl_id -> the location's notice) and stops at the "
        "first check that found the location gone. Material keepdown found on its own "
        "initiative has no report and is left out (without_report).",
    ),
    Definition(
        "time_from_notice",
        "Time from notice to confirmed removal",
        "IWF-style",
        "the first notice to the hosting provider",
        "the hotline's confirmation that it is gone",
        "p50, p90, p99 (hours)",
        "As the IWF counts: from the notice to the hosting provider to the moment the hotline "
        "confirmed the content gone (RemovalConfirmed.at: the same check as keepdown's stop, or "
        "a second check that confirmed it).",
    ),
    Definition(
        "share_over_42_days",
        "Share taking more than 42 days",
        "C3P-style",
        "the notice naming the media (one per item, as Project Arachnid sends them)",
        "removal, or 42 days passing",
        "share of the decided cohort; undecided counted apart",
        "As the Canadian Centre for Child Protection publishes: of the locations first notified "
        "in the period whose 42 days ran out before the period end or that were removed sooner, "
        "the share not removed within 42 days of the first notice.",
    ),
    Definition(
        "removed_within",
        "Removed within 24 h / 48 h / 72 h / 7 days",
        "keepdown",
        "the first notice naming the location",
        "the first re-check that found it gone",
        "share of the cohort (locations first notified in the period)",
        "Of the locations first notified in the period (less those withdrawn), the share "
        "found gone within 24 hours, 48 hours, 72 hours or 7 days of the first notice, and "
        "confirmed before the period end. Locations still online count in the denominator.",
    ),
    Definition(
        "same_provider_reappearance",
        f"Same-provider reappearance within {REAPPEARANCE_DAYS} days",
        "keepdown",
        "the removal (the first check that found it gone)",
        "the material found again at the same provider",
        "share of the removals confirmed in the period",
        f"Of the removals confirmed in the period, the share whose material was found again at "
        f"the same provider (the same URL, or another URL there) within {REAPPEARANCE_DAYS} "
        "days of the removal, as known at the period end (ReappearanceDetected naming the "
        "removed location).",
    ),
)


@dataclass(frozen=True)
class FieldFigures:
    """Every definition's value for one provider (or all) in one period."""

    key: str
    name: str
    values: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, **self.values}


def _percentiles(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_hours": percentile(values, 0.5),
        "p90_hours": percentile(values, 0.9),
        "p99_hours": percentile(values, 0.99),
    }


def _elapsed(start: datetime, end: datetime | None) -> float | None:
    return hours(end - start) if end is not None else None


@dataclass
class _Group:
    removed: list[LocationRecord]
    cohort: list[LocationRecord]


def _values(g: _Group, end: datetime) -> dict[str, dict[str, Any]]:
    keepdown = [loc.removal_hours for loc in g.removed if loc.removal_hours is not None]
    reported = [
        h
        for loc in g.removed
        if loc.reported_at is not None
        and (h := _elapsed(loc.reported_at, loc.removed_at)) is not None
    ]
    confirmed = [
        h for loc in g.removed if (h := _elapsed(loc.first_notice_at, loc.confirmed_at)) is not None
    ]
    return {
        "keepdown_time_to_removal": _percentiles(keepdown),
        "time_from_report": {
            **_percentiles(reported),
            "without_report": sum(1 for loc in g.removed if loc.reported_at is None),
        },
        "time_from_notice": _percentiles(confirmed),
        "share_over_42_days": _over_42_days(g.cohort, end),
        "removed_within": _within(g.cohort, end),
        "same_provider_reappearance": _reappeared(g.removed, end),
    }


def _over_42_days(cohort: Sequence[LocationRecord], end: datetime) -> dict[str, Any]:
    window = timedelta(days=C3P_DAYS)
    over = decided = 0
    for loc in cohort:
        removed = loc.removed_by(end) and loc.removed_at is not None
        fast = removed and loc.removed_at <= loc.first_notice_at + window  # type: ignore[operator]
        if fast:
            decided += 1
        elif loc.first_notice_at + window <= end:
            decided, over = decided + 1, over + 1
    return {
        "over": over,
        "decided": decided,
        "undecided": len(cohort) - decided,
        "share": share(over, decided),
    }


def _within(cohort: Sequence[LocationRecord], end: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"cohort": len(cohort)}
    for label, window in WITHIN.items():
        n = sum(
            1
            for loc in cohort
            if loc.removed_by(end)
            and loc.removal_hours is not None
            and loc.removal_hours <= hours(window)
        )
        out[label] = {"removed": n, "share": share(n, len(cohort))}
    return out


def _reappeared(removed: Sequence[LocationRecord], end: datetime) -> dict[str, Any]:
    window = timedelta(days=REAPPEARANCE_DAYS)
    n = sum(
        1
        for loc in removed
        if loc.returned_at is not None
        and loc.removed_at is not None
        and loc.returned_at < end
        and loc.returned_at - loc.removed_at <= window
    )
    return {
        "days": REAPPEARANCE_DAYS,
        "reappeared": n,
        "of": len(removed),
        "share": share(n, len(removed)),
    }


def field_figures(ledger: Ledger, period: Period, by: str = "provider") -> dict[str, FieldFigures]:
    """Every definition per provider (``by="provider"``) or for all (``"all"``, key ``""``)."""
    group: Callable[[LocationRecord], str] = (
        (lambda loc: loc.provider) if by == "provider" else (lambda loc: "")
    )
    groups: dict[str, _Group] = defaultdict(lambda: _Group([], []))
    end = period.end
    for loc in ledger.locations.values():
        if loc.first_notice_at >= end:
            continue
        g = groups[group(loc)]
        if loc.confirmed_at is not None and loc.confirmed_at in period:
            g.removed.append(loc)
        if loc.first_notice_at in period and not loc.withdrawn_by(end):
            g.cohort.append(loc)
    if by != "provider":
        groups.setdefault("", _Group([], []))
    return {
        key: FieldFigures(
            key,
            ledger.provider_names.get(key, key) if by == "provider" else "all providers",
            _values(g, end),
        )
        for key, g in sorted(groups.items())
        if by != "provider" or g.removed or g.cohort
    }
