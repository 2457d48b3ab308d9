"""The transparency report: every figure of one period, ready for the renderers.

:func:`build_report` runs the figures of :mod:`keepdown.reports.figures` over a ledger and adds
what the public report shows: the league table of providers by time to removal, the
distribution of time to removal, the trend over the last twelve months, reappearances per
provider, the methodology, and the per-location data file (durations only: no URL, no hash).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from keepdown.events import Event
from keepdown.reports.accuracy import SourceAccuracy, source_accuracy
from keepdown.reports.cross_border import CROSS_BORDER_KINDS, CrossBorder, cross_border
from keepdown.reports.definitions import DEFINITIONS, FieldFigures, field_figures
from keepdown.reports.figures import (
    BankFigures,
    PlatformFigures,
    RemovalFigures,
    bank_figures,
    platform_figures,
    removal_figures,
)
from keepdown.reports.ledger import Ledger, build_ledger
from keepdown.reports.methodology import METHODOLOGY, PERIOD_RULE
from keepdown.reports.period import Period, month_periods
from keepdown.reports.provenance import Provenance
from keepdown.reports.requests import RemovalRequestFigures, RequestLedger, request_figures
from keepdown.reports.stats import hours

if TYPE_CHECKING:  # reproduce builds on this module
    from keepdown.reports.reproduce import SignedReport

__all__ = ["BUCKETS", "TransparencyReport", "TransparencySource", "build_report", "location_rows"]

#: Time-to-removal buckets of the distribution chart: (label, upper bound in hours, inclusive).
BUCKETS: tuple[tuple[str, float], ...] = (
    ("1 h or less", 1.0),
    ("1-24 h", 24.0),
    ("1-2 days", 48.0),
    ("2-7 days", 168.0),
    ("7-14 days", 336.0),
    ("14-42 days", 1008.0),
    ("over 42 days", math.inf),
)
TREND_MONTHS = 12


@dataclass(frozen=True)
class TransparencyReport:
    operator: str
    period: Period
    generated_at: datetime
    totals: RemovalFigures
    league_table: list[RemovalFigures]
    countries: list[RemovalFigures]
    banks: list[BankFigures]
    platforms: list[PlatformFigures]
    distribution: list[tuple[str, int]]
    trend: list[dict[str, Any]]
    locations: list[dict[str, Any]]
    #: Hash matches (``MatchFound``) in the period per signal type: the detection methods.
    signal_types: dict[str, int] = field(default_factory=dict)
    #: Referrals to authorities outside keepdown in the period (``ReferralMade``), by recipient
    #: (ncmec, law_enforcement, hotline).
    referrals: dict[str, int] = field(default_factory=dict)
    #: Removal requests on platforms using keepdown, and self-submitted hashes
    #: (keepdown.reports.requests).
    removal_requests: RemovalRequestFigures | None = None
    #: The field's definitions of removal time, side by side (keepdown.reports.definitions):
    #: every provider's and all providers' values.
    field_totals: FieldFigures | None = None
    field_providers: list[FieldFigures] = field(default_factory=list)
    #: Accuracy per source (bank or feed) and signal type (keepdown.reports.accuracy).
    sources: list[SourceAccuracy] = field(default_factory=list)
    methodology: tuple[tuple[str, str], ...] = METHODOLOGY
    period_rule: str = PERIOD_RULE
    notes: list[str] = field(default_factory=list)
    #: Referrals between hotlines (keepdown.reports.cross_border); None when there were none.
    cross_border: CrossBorder | None = None
    #: What the figures were computed from (keepdown.reports.provenance); set by whoever read
    #: the events (the app layer), printed by every renderer.
    provenance: Provenance | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "keepdown transparency report",
            "operator": self.operator,
            "period": self.period.to_dict(),
            "generated_at": self.generated_at.isoformat(),
            "period_rule": self.period_rule,
            "totals": self.totals.to_dict(),
            "league_table": [
                {"rank": i, **f.to_dict()} for i, f in enumerate(self.league_table, 1)
            ],
            "countries": [f.to_dict() for f in self.countries],
            "banks": [f.to_dict() for f in self.banks],
            "platforms": [f.to_dict() for f in self.platforms],
            "hash_matches_by_signal_type": dict(self.signal_types),
            "accuracy_by_source": [s.to_dict() for s in self.sources],
            "referrals": dict(self.referrals),
            "distribution": [{"bucket": b, "removals": n} for b, n in self.distribution],
            "trend": self.trend,
            "reappearances": [
                {"provider": f.name, **f.reappearances_by_where}
                for f in self.league_table
                if f.reappearances
            ],
            "removal_requests": self.removal_requests.to_dict()
            if self.removal_requests is not None
            else None,
            "definitions": {
                "definitions": [d.to_dict() for d in DEFINITIONS],
                "all_providers": self.field_totals.to_dict() if self.field_totals else None,
                "providers": [f.to_dict() for f in self.field_providers],
            },
            "methodology": [{"figure": a, "definition": b} for a, b in self.methodology],
            **({"cross_border": self.cross_border.to_dict()} if self.cross_border else {}),
            "locations": self.locations,
            **({"provenance": self.provenance.to_dict()} if self.provenance else {}),
        }


def league_order(figures: Iterable[RemovalFigures]) -> list[RemovalFigures]:
    """Ranked by median, p90 and name; providers with no removal last (most present first)."""
    measured = [f for f in figures if f.median_hours is not None]
    unmeasured = [f for f in figures if f.median_hours is None]
    measured.sort(key=lambda f: (f.median_hours, f.p90_hours, f.name))
    unmeasured.sort(key=lambda f: (-f.still_present, -f.locations, f.name))
    return measured + unmeasured


def distribution(removal_hours: Iterable[float]) -> list[tuple[str, int]]:
    counts = dict.fromkeys((label for label, _ in BUCKETS), 0)
    for h in removal_hours:
        label = next(label for label, upper in BUCKETS if h <= upper)
        counts[label] += 1
    return list(counts.items())


def trend(ledger: Ledger, period: Period) -> list[dict[str, Any]]:
    rows = []
    for month in month_periods(period.end, TREND_MONTHS):
        f = removal_figures(ledger, month, "all")[""]
        rows.append(
            {
                "month": month.label,
                "notified": f.locations,
                "removed": f.removed,
                "median_hours": f.median_hours,
                "still_present": f.still_present,
                "withdrawn": f.withdrawn,
                "reappearances": f.reappearances,
            }
        )
    return rows


def location_rows(ledger: Ledger, period: Period) -> list[dict[str, Any]]:
    """The data file: one row per location notified in the period, removed in it, or still
    present at its end (durations and times only; rows are numbered, not identified).
    A location withdrawn by the period end is listed with that status and is not counted
    as notified (``counted_as_notified``)."""
    end = period.end
    picked = [
        loc
        for loc in ledger.locations.values()
        if loc.first_notice_at < end
        and (
            loc.first_notice_at in period
            or (loc.confirmed_at is not None and loc.confirmed_at in period)
            or loc.present_at(end)
        )
    ]
    picked.sort(key=lambda loc: (loc.first_notice_at, loc.provider, loc.location_id))
    rows = []
    for n, loc in enumerate(picked, 1):
        removed = loc.removed_at if loc.removed_by(end) else None
        status = "removed" if removed else "withdrawn" if loc.withdrawn_by(end) else "present"
        detect = loc.detected_at
        rows.append(
            {
                "row": n,
                "provider": ledger.provider_names.get(loc.provider, loc.provider),
                "country": loc.country,
                "detected_at": detect.isoformat() if detect else "",
                "first_notice_at": loc.first_notice_at.isoformat(),
                "removed_at": removed.isoformat() if removed else "",
                "confirmed_at": loc.confirmed_at.isoformat()
                if removed and loc.confirmed_at
                else "",
                "hours_to_removal": round(hours(removed - loc.first_notice_at), 4)
                if removed
                else None,
                "precision_hours": round(loc.precision_hours, 4)
                if removed and loc.precision_hours is not None
                else None,
                "hours_detection_to_notice": round(hours(loc.first_notice_at - detect), 4)
                if detect
                else None,
                "notified_in_period": loc.first_notice_at in period,
                "counted_as_notified": loc.first_notice_at in period and status != "withdrawn",
                "removed_in_period": removed is not None
                and loc.confirmed_at is not None
                and loc.confirmed_at in period,
                "status_at_period_end": status,
                "reappearance": loc.reappearance,
            }
        )
    return rows


def build_report(
    events: Iterable[Event], period: Period, *, generated_at: datetime, operator: str = ""
) -> TransparencyReport:
    """Every figure of ``period`` from ``events`` (module docstring)."""
    requests = RequestLedger()  # fed by the same pass as the ledger
    peers: list[Event] = []  # and the cross-border section's events

    def tapped(found: Iterable[Event]) -> Iterator[Event]:
        for e in found:
            if e.kind in CROSS_BORDER_KINDS:
                peers.append(e)
            yield e

    ledger = build_ledger(requests.tap(tapped(e for e in events if e.at < period.end)))
    totals = removal_figures(ledger, period, "all")[""]
    providers = league_order(removal_figures(ledger, period, "provider").values())
    listed = {f.key for f in providers}
    return TransparencyReport(
        operator=operator,
        period=period,
        generated_at=generated_at,
        totals=totals,
        league_table=providers,
        countries=sorted(removal_figures(ledger, period, "country").values(), key=lambda f: f.key),
        banks=bank_figures(ledger, period),
        platforms=platform_figures(ledger, period),
        distribution=distribution(totals.removal_hours),
        trend=trend(ledger, period),
        locations=location_rows(ledger, period),
        signal_types=dict(
            sorted(Counter(s for at, _bank, s in ledger.hash_matches if at in period).items())
        ),
        removal_requests=request_figures(requests, period),
        sources=source_accuracy(ledger, period),
        field_totals=field_figures(ledger, period, "all")[""],
        field_providers=[
            f for key, f in field_figures(ledger, period, "provider").items() if key in listed
        ],
        referrals=dict(sorted(Counter(o.kind for o in ledger.referrals if o.at in period).items())),
        cross_border=_cross_border(peers, period),
    )


def _cross_border(events: list[Event], period: Period) -> CrossBorder | None:
    if not events:
        return None
    found = cross_border(events, period.start, period.end)
    return found if found.peers else None


class TransparencySource(Protocol):
    """Where the API and the web pages get a period's transparency report (the composition
    root computes it from the stored events)."""

    def transparency(self, period: str | Period) -> TransparencyReport:
        """The report of ``period`` (``2026-Q3``, ``2026-09``, a date range)."""
        ...

    def published(self, period: str, *, view: str = "public", fmt: str = "html") -> SignedReport:
        """The report of ``period`` as published: pinned to the event chain's head, with its
        provenance, rendered in ``view`` (public, regulator, flagger) and ``fmt``, signed."""
        ...
