"""Time to removal and its companions per provider, computed from the lifecycle events alone.

For the notices CLI and API (operators watching their own queue). Published transparency
figures are keepdown.reports' job; both follow the definitions in docs/notices.md, repeated
here:

- **time to removal** of a location: from the first ``NoticeSent`` that named it to the
  first ``RemovalConfirmed`` for it (the first re-check that found it gone). The provider's
  own "removed" report does not count; only a check does;
- **detection to notice**: from the ``SightingRecorded`` of a sighting to the first
  ``NoticeSent`` whose ``sighting_ids`` include it;
- **notice to acknowledgement**: from a notice's first ``NoticeSent`` to its first
  ``NoticeAcknowledged``;
- **notified**: the locations a provider was sent a first notice for, less those withdrawn
  (a dispute upheld: ``DisputeReviewed`` with outcome ``upheld``);
- **median** and **p90** of time to removal, over the removed locations; p90 is the
  nearest-rank percentile (the smallest value with at least 90 % of values at or below it);
- **shares removed within 24 h / 7 days / 42 days**: removed within that time, divided by
  notified (locations still online count in the denominator);
- **deliveries failed**: deliveries given up for good (``DeliveryFailed`` with outcome
  ``failed``: a permanent refusal, or the last attempt); a provider with only failures is
  listed too, with nothing notified.

Figures are keyed by the provider's registry id, so a renamed provider keeps its history; the
name shown is the latest one seen. Nothing here reads the database.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keepdown.events import (
    DeliveryFailed,
    DisputeReviewed,
    Event,
    NoticeAcknowledged,
    NoticeSent,
    RemovalConfirmed,
    SightingRecorded,
)

__all__ = ["WINDOWS", "ProviderFigures", "nearest_rank", "removal_figures"]

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "42d": timedelta(days=42)}


@dataclass(frozen=True)
class ProviderFigures:
    """One provider's figures; durations in hours (None when nothing to measure)."""

    provider_id: str
    provider: str
    country: str
    notified: int
    removed: int
    removal_hours: tuple[float, ...]
    median_removal_hours: float | None
    p90_removal_hours: float | None
    share_removed: dict[str, float]
    median_detection_to_notice_hours: float | None
    median_notice_to_ack_hours: float | None
    deliveries_failed: int = 0


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def nearest_rank(values: list[float], percent: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


@dataclass
class _Seen:
    """What the event stream says, by location / notice / sighting."""

    first_notice: dict[str, tuple[datetime, str]]  # location -> (at, provider id)
    first_sent_ref: dict[str, tuple[datetime, str]]  # notice ref -> (at, provider id)
    sighting_notice: dict[str, tuple[datetime, str]]  # sighting -> (at, provider id)
    detected: dict[str, datetime]
    removed: dict[str, datetime]
    acknowledged: dict[str, datetime]
    withdrawn: set[str]
    names: dict[str, tuple[str, str]]  # provider id -> (latest name, country)
    failed: dict[str, int]  # provider id -> deliveries given up


def _key(e: Event) -> str:
    """The provider's id; events from before ids were recorded fall back to the name."""
    return getattr(e, "provider_id", "") or f"name:{getattr(e, 'provider', '')}"


def _read(events: Iterable[Event]) -> _Seen:
    seen = _Seen({}, {}, {}, {}, {}, {}, set(), {}, defaultdict(int))
    for e in sorted(events, key=lambda e: e.at):
        if isinstance(e, NoticeSent):
            pid = _key(e)
            seen.names[pid] = (e.provider, e.country)
            seen.first_sent_ref.setdefault(e.notice_ref, (e.at, pid))
            for loc in e.locations:
                seen.first_notice.setdefault(loc, (e.at, pid))
            for sid in e.sighting_ids:
                seen.sighting_notice.setdefault(sid, (e.at, pid))
        elif isinstance(e, RemovalConfirmed):
            seen.removed.setdefault(e.location_id, e.at)
        elif isinstance(e, NoticeAcknowledged):
            seen.acknowledged.setdefault(e.notice_ref, e.at)
        elif isinstance(e, SightingRecorded):
            seen.detected.setdefault(e.sighting_id, e.at)
        elif isinstance(e, DisputeReviewed) and e.outcome == "upheld":
            seen.withdrawn.add(e.location_id)
        elif isinstance(e, DeliveryFailed) and e.outcome == "failed":
            seen.names[_key(e)] = (e.provider, e.country)
            seen.failed[_key(e)] += 1
    return seen


def removal_figures(events: Iterable[Event]) -> dict[str, ProviderFigures]:
    """Per-provider figures (by provider id) from a stream of events (module docstring)."""
    seen = _read(events)
    durations: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    notified: dict[str, int] = defaultdict(int)
    for loc, (at, pid) in seen.first_notice.items():
        if loc in seen.withdrawn:
            continue
        notified[pid] += 1
        if loc in seen.removed:
            durations[pid]["removal"].append(_hours(seen.removed[loc] - at))
    for ref, (at, pid) in seen.first_sent_ref.items():
        if ref in seen.acknowledged:
            durations[pid]["ack"].append(_hours(seen.acknowledged[ref] - at))
    for sid, (at, pid) in seen.sighting_notice.items():
        if sid in seen.detected:
            durations[pid]["detection"].append(_hours(at - seen.detected[sid]))
    return {
        pid: _figures(pid, seen.names[pid], notified[pid], durations[pid], seen.failed[pid])
        for pid in sorted(seen.names)
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _figures(
    pid: str, name: tuple[str, str], notified: int, d: dict[str, list[float]], failed: int
) -> ProviderFigures:
    removal = sorted(d["removal"])
    shares = {
        label: (sum(1 for h in removal if h <= _hours(window)) / notified if notified else 0.0)
        for label, window in WINDOWS.items()
    }
    return ProviderFigures(
        provider_id=pid,
        provider=name[0],
        country=name[1],
        notified=notified,
        removed=len(removal),
        removal_hours=tuple(removal),
        median_removal_hours=_median(removal),
        p90_removal_hours=nearest_rank(removal, 90),
        share_removed=shares,
        median_detection_to_notice_hours=_median(d["detection"]),
        median_notice_to_ack_hours=_median(d["ack"]),
        deliveries_failed=failed,
    )
