"""Time to removal and its companions, computed from the lifecycle events alone.

Definitions (also in docs/notices.md; keep them in one place):

- **time to removal** of a location: from the first ``NoticeSent`` that named it to the
  first ``RemovalConfirmed`` for it (the first re-check that found it gone). The provider's
  own "removed" report does not count; only a check does;
- **detection to notice**: from the ``SightingRecorded`` of a sighting to the first
  ``NoticeSent`` whose ``sighting_ids`` include it;
- **notice to acknowledgement**: from a notice's first ``NoticeSent`` to its first
  ``NoticeAcknowledged``;
- **shares removed within 24 h / 7 days / 42 days**: of the locations first notified to a
  provider, the fraction whose time to removal is at most that long (locations still
  online count in the denominator).

Anyone holding the events can recompute every figure; nothing here reads the database.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keepdown.events import (
    Event,
    NoticeAcknowledged,
    NoticeSent,
    RemovalConfirmed,
    SightingRecorded,
)

__all__ = ["WINDOWS", "ProviderFigures", "removal_figures"]

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "42d": timedelta(days=42)}


@dataclass(frozen=True)
class ProviderFigures:
    """One provider's figures; durations in hours (None when nothing to measure)."""

    provider: str
    notified: int
    removed: int
    removal_hours: tuple[float, ...]
    median_removal_hours: float | None
    share_removed: dict[str, float]
    median_detection_to_notice_hours: float | None
    median_notice_to_ack_hours: float | None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def removal_figures(events: Iterable[Event]) -> dict[str, ProviderFigures]:
    """Per-provider figures from a stream of events (module docstring)."""
    first_notice: dict[str, tuple[datetime, str]] = {}  # location -> (at, provider)
    first_sent_ref: dict[str, tuple[datetime, str]] = {}  # notice ref -> (at, provider)
    sighting_notice: dict[str, tuple[datetime, str]] = {}  # sighting -> (at, provider)
    detected: dict[str, datetime] = {}
    removed: dict[str, datetime] = {}
    acknowledged: dict[str, datetime] = {}
    for e in sorted(events, key=lambda e: e.at):
        if isinstance(e, NoticeSent):
            first_sent_ref.setdefault(e.notice_ref, (e.at, e.provider))
            for loc in e.locations:
                first_notice.setdefault(loc, (e.at, e.provider))
            for sid in e.sighting_ids:
                sighting_notice.setdefault(sid, (e.at, e.provider))
        elif isinstance(e, RemovalConfirmed):
            removed.setdefault(e.location_id, e.at)
        elif isinstance(e, NoticeAcknowledged):
            acknowledged.setdefault(e.notice_ref, e.at)
        elif isinstance(e, SightingRecorded):
            detected.setdefault(e.sighting_id, e.at)
    durations: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    notified: dict[str, int] = defaultdict(int)
    for loc, (at, provider) in first_notice.items():
        notified[provider] += 1
        if loc in removed:
            durations[provider]["removal"].append(_hours(removed[loc] - at))
    for ref, (at, provider) in first_sent_ref.items():
        if ref in acknowledged:
            durations[provider]["ack"].append(_hours(acknowledged[ref] - at))
    for sid, (at, provider) in sighting_notice.items():
        if sid in detected:
            durations[provider]["detection"].append(_hours(at - detected[sid]))
    return {name: _figures(name, notified[name], durations[name]) for name in sorted(notified)}


def _figures(provider: str, notified: int, d: dict[str, list[float]]) -> ProviderFigures:
    removal = sorted(d["removal"])
    shares = {
        label: (sum(1 for h in removal if h <= _hours(window)) / notified if notified else 0.0)
        for label, window in WINDOWS.items()
    }
    return ProviderFigures(
        provider=provider,
        notified=notified,
        removed=len(removal),
        removal_hours=tuple(removal),
        median_removal_hours=_median(removal),
        share_removed=shares,
        median_detection_to_notice_hours=_median(d["detection"]),
        median_notice_to_ack_hours=_median(d["ack"]),
    )
