"""Removal requests and self-submitted hashes in the transparency report.

Computed from the events of :mod:`keepdown.submissions` (:data:`REQUEST_KINDS`), with the
report's period rule (docs/transparency.md):

- **flows** count in the period their event happened: requests received, requests closed
  (the first closing: a request reopened by a copy found again does not count twice) with
  their hours from received to closed, requests withdrawn, submissions received and
  withdrawn, uploads held and the analysts' decisions on them;
- **closed within the deadline** follows the cohort: requests received in the period, closed
  by their due time *and* before the period end;
- **open** and **overdue at the end** are stocks at the period end: received before the end,
  neither closed nor withdrawn before it (overdue: due before the end too).

Nothing here keeps a hash, a case number or a person's words: only times, origins and counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from keepdown.events import Event
from keepdown.reports.period import Period
from keepdown.reports.stats import hours, median, p90, share

__all__ = ["REQUEST_KINDS", "RemovalRequestFigures", "RequestLedger", "request_figures"]

#: The event kinds these figures read.
REQUEST_KINDS: tuple[str, ...] = (
    "hold_decided",
    "removal_request_closed",
    "removal_request_withdrawn",
    "removal_requested",
    "self_submission_received",
    "self_submission_withdrawn",
    "upload_held",
)


@dataclass
class _Request:
    origin: str
    received_at: datetime
    due_at: datetime
    closed_at: datetime | None = None
    withdrawn_at: datetime | None = None

    def open_at(self, moment: datetime) -> bool:
        return (
            self.received_at < moment
            and (self.closed_at is None or self.closed_at >= moment)
            and (self.withdrawn_at is None or self.withdrawn_at >= moment)
        )


@dataclass
class RequestLedger:
    """The facts of :data:`REQUEST_KINDS` events, folded in as they come (:meth:`add`)."""

    requests: dict[str, _Request] = field(default_factory=dict)
    submissions: list[tuple[datetime, str, str, int]] = field(default_factory=list)
    holds: list[tuple[datetime, str]] = field(default_factory=list)

    def add(self, e: Event) -> None:
        handler = getattr(self, "_on_" + e.kind, None)
        if handler is not None:
            handler(e)

    def _on_removal_requested(self, e: Any) -> None:
        self.requests.setdefault(e.request_id, _Request(e.origin, e.received_at, e.due_at))

    def _on_removal_request_closed(self, e: Any) -> None:
        request = self.requests.setdefault(
            e.request_id, _Request(e.origin, e.received_at, e.due_at)
        )
        if request.closed_at is None:  # the first closing counts
            request.closed_at = e.closed_at

    def _on_removal_request_withdrawn(self, e: Any) -> None:
        request = self.requests.get(e.request_id)
        if request is not None and request.withdrawn_at is None:
            request.withdrawn_at = e.at

    def _on_self_submission_received(self, e: Any) -> None:
        self.submissions.append((e.at, "received", e.programme, e.hashes))

    def _on_self_submission_withdrawn(self, e: Any) -> None:
        self.submissions.append((e.at, "withdrawn", e.programme, e.hashes_removed))

    def _on_upload_held(self, e: Any) -> None:
        self.holds.append((e.at, "held"))

    def _on_hold_decided(self, e: Any) -> None:
        self.holds.append((e.at, e.decision))

    def tap(self, events: Iterable[Event]) -> Iterator[Event]:
        """``events`` passed through, each also folded in here (one pass feeds two ledgers)."""
        for e in events:
            self.add(e)
            yield e


@dataclass(frozen=True)
class RemovalRequestFigures:
    """The figures of one period (module docstring)."""

    received: int
    received_by_origin: dict[str, int]
    closed: int
    closed_in_time: int
    closed_hours: tuple[float, ...]
    median_hours: float | None
    p90_hours: float | None
    cohort: int
    cohort_closed_in_time: int
    share_closed_in_time: float | None
    withdrawn: int
    open_at_end: int
    overdue_at_end: int
    submissions_received: dict[str, int]
    submissions_withdrawn: dict[str, int]
    hashes_received: int
    uploads_held: int
    holds_confirmed: int
    holds_not_a_match: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["closed_hours"] = [round(h, 4) for h in self.closed_hours]
        return data


def _count(
    rows: Iterable[tuple[datetime, str, str, int]], period: Period, what: str
) -> dict[str, int]:
    return dict(
        sorted(Counter(p for at, kind, p, _n in rows if kind == what and at in period).items())
    )


def request_figures(ledger: RequestLedger, period: Period) -> RemovalRequestFigures:
    """Every figure of ``period`` (module docstring)."""
    requests = ledger.requests.values()
    received = [r for r in requests if r.received_at in period]
    closed = [r for r in requests if r.closed_at is not None and r.closed_at in period]
    closed_hours = tuple(hours(r.closed_at - r.received_at) for r in closed if r.closed_at)
    cohort = [r for r in received if r.withdrawn_at is None or r.withdrawn_at >= period.end]
    in_time: Callable[[_Request], bool] = lambda r: (  # noqa: E731
        r.closed_at is not None and r.closed_at <= r.due_at and r.closed_at < period.end
    )
    still_open = [r for r in requests if r.open_at(period.end)]
    cohort_in_time = sum(1 for r in cohort if in_time(r))
    return RemovalRequestFigures(
        received=len(received),
        received_by_origin=dict(sorted(Counter(r.origin for r in received).items())),
        closed=len(closed),
        closed_in_time=sum(1 for r in closed if r.closed_at and r.closed_at <= r.due_at),
        closed_hours=closed_hours,
        median_hours=median(closed_hours),
        p90_hours=p90(closed_hours),
        cohort=len(cohort),
        cohort_closed_in_time=cohort_in_time,
        share_closed_in_time=share(cohort_in_time, len(cohort)),
        withdrawn=sum(1 for r in requests if r.withdrawn_at and r.withdrawn_at in period),
        open_at_end=len(still_open),
        overdue_at_end=sum(1 for r in still_open if r.due_at < period.end),
        submissions_received=_count(ledger.submissions, period, "received"),
        submissions_withdrawn=_count(ledger.submissions, period, "withdrawn"),
        hashes_received=sum(
            n for at, kind, _p, n in ledger.submissions if kind == "received" and at in period
        ),
        uploads_held=sum(1 for at, kind in ledger.holds if kind == "held" and at in period),
        holds_confirmed=sum(1 for at, kind in ledger.holds if kind == "confirm" and at in period),
        holds_not_a_match=sum(
            1 for at, kind in ledger.holds if kind == "not_a_match" and at in period
        ),
    )
