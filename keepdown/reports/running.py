"""The running removal figures per provider: one computation every view reads.

``keepdown notices figures`` (text and ``--json``), ``GET /api/v1/notices/figures``, the web's
figures and provider pages and the published transparency report all count the same way,
because all of them come from :func:`keepdown.reports.figures.removal_figures` over the same
ledger. This module only names what those views show and in which words: :func:`running_figures`
folds events into the figures of a period (everything to now when the caller passes
:func:`~keepdown.reports.period.to_date`), and :func:`provider_row` is a provider's row under
the names the notices API has always used (``notified``, ``median_removal_hours``...).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from keepdown.events import Event
from keepdown.reports.figures import RemovalFigures, removal_figures
from keepdown.reports.ledger import build_ledger
from keepdown.reports.period import Period

__all__ = ["RunningFigures", "provider_row", "running_figures"]


@dataclass(frozen=True)
class RunningFigures:
    """Per-provider figures (by provider key, in name order) and the totals of a period."""

    period: Period
    providers: list[RemovalFigures]
    totals: RemovalFigures

    def by_key(self) -> dict[str, RemovalFigures]:
        return {f.key: f for f in self.providers}

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "providers": [provider_row(f) for f in self.providers],
            "totals": provider_row(self.totals),
        }


def running_figures(events: Iterable[Event], period: Period) -> RunningFigures:
    """The figures of ``period`` from ``events`` (only those before its end are read)."""
    ledger = build_ledger(e for e in events if e.at < period.end)
    providers = sorted(
        removal_figures(ledger, period, "provider").values(), key=lambda f: (f.name, f.key)
    )
    return RunningFigures(period, providers, removal_figures(ledger, period, "all")[""])


def provider_row(f: RemovalFigures) -> dict[str, Any]:
    """One provider's figures under the notices API's names (hours at full precision)."""
    return {
        "provider_id": f.key,
        "provider": f.name,
        "country": f.country,
        "notices": f.notices,
        "notified": f.locations,
        "removed": f.removed,
        "still_present": f.still_present,
        "withdrawn": f.withdrawn,
        "reopened": f.reopened,
        "median_removal_hours": f.median_hours,
        "p90_removal_hours": f.p90_hours,
        "share_removed_24h": f.share_within["24h"],
        "share_removed_7d": f.share_within["7d"],
        "share_removed_42d": f.share_within["42d"],
        "precision_median_hours": f.precision_median_hours,
        "precision_max_hours": f.precision_max_hours,
        "median_detection_to_notice_hours": f.median_detection_hours,
        "median_notice_to_ack_hours": f.median_ack_hours,
        "renotices": f.renotices,
        "escalations": f.escalations,
        "removals_reported": f.removals_reported,
        "deliveries_failed": f.delivery_failures,
        "reappearances": f.reappearances,
        "reappearances_by_where": dict(f.reappearances_by_where),
        "disputes_opened": f.disputes_opened,
        "disputes_upheld": f.disputes_upheld,
        "disputes_rejected": f.disputes_rejected,
        "disputes_pending": f.disputes_pending,
        "removal_hours": list(f.removal_hours),
    }
