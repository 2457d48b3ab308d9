"""In-memory twins of the filing stores, for tests and single-process runs.

They keep the same promises as the SQL stores (``keepdown/storage/filing_store.py``): a
report per source once, a claim that only one caller wins, a change applied with its events
or not at all, and only while its step is still the one in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from keepdown.errors import Conflict, NotFound
from keepdown.events import Event, EventSink
from keepdown.filings.cybertip_model import (
    ACTIVE,
    CyberTipDraft,
    CyberTipReport,
    ReportChange,
    ReportFile,
    ReportState,
    Source,
    Step,
)
from keepdown.filings.sor_model import (
    PlannedStatement,
    StatementState,
    StoredStatement,
)

__all__ = ["MemoryCyberTips", "MemoryStatements"]


@dataclass
class MemoryCyberTips:
    """The in-memory :class:`~keepdown.filings.cybertip_model.CyberTipStore`."""

    events: EventSink
    reports: dict[int, CyberTipReport] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _next_file: int = 1

    def add(
        self,
        draft: CyberTipDraft,
        report_xml: bytes,
        state: ReportState,
        now: datetime,
        events: Callable[[CyberTipReport], Sequence[Event]],
    ) -> CyberTipReport:
        with self._lock:
            if self.find(draft.organisation, draft.source, draft.source_ref) is not None:
                raise Conflict(f"a report for this {draft.source.value} exists already")
            report_id = max(self.reports, default=0) + 1
            files = []
            for position, facts in enumerate(draft.files):
                files.append(ReportFile(id=self._next_file, position=position, facts=facts))
                self._next_file += 1
            report = CyberTipReport(
                id=report_id,
                organisation=draft.organisation,
                source=draft.source,
                source_ref=draft.source_ref,
                environment=draft.environment,
                state=state,
                report_xml=report_xml,
                files=tuple(files),
                drafted_by=draft.drafted_by,
                drafted_at=now,
            )
            self.reports[report_id] = report
            for event in events(report):
                self.events.emit(event)
            return report

    def get(self, report_id: int) -> CyberTipReport:
        try:
            return self.reports[report_id]
        except KeyError:
            raise NotFound(f"no CyberTipline report {report_id}") from None

    def find(self, organisation: str, source: Source, source_ref: str) -> CyberTipReport | None:
        for r in self.reports.values():
            if (r.organisation, r.source, r.source_ref) == (organisation, source, source_ref):
                return r
        return None

    def select(
        self,
        *,
        organisation: str | None = None,
        states: Sequence[ReportState] | None = None,
        limit: int = 100,
    ) -> list[CyberTipReport]:
        found = [
            r
            for r in sorted(self.reports.values(), key=lambda r: -r.id)
            if (organisation is None or r.organisation == organisation)
            and (states is None or r.state in states)
        ]
        return found[:limit]

    def due(self, now: datetime, limit: int = 100) -> list[int]:
        return [
            r.id
            for r in sorted(self.reports.values(), key=lambda r: r.id)
            if r.state in ACTIVE
            and r.in_flight is None
            and (r.next_attempt_at is None or r.next_attempt_at <= now)
        ][:limit]

    def expired(self, now: datetime) -> list[CyberTipReport]:
        return [
            r
            for r in self.reports.values()
            if r.in_flight is not None and r.lease_expires is not None and r.lease_expires <= now
        ]

    def claim(
        self, report_id: int, step: Step, now: datetime, lease_seconds: float
    ) -> CyberTipReport | None:
        with self._lock:
            r = self.get(report_id)
            if r.in_flight is not None or r.state not in ACTIVE:
                return None
            claimed = replace(
                r, in_flight=step, lease_expires=now + timedelta(seconds=lease_seconds)
            )
            self.reports[report_id] = claimed
            return claimed

    def apply(
        self,
        report_id: int,
        decide: Callable[[CyberTipReport], ReportChange | None],
        *,
        in_flight: Step | None = None,
    ) -> CyberTipReport | None:
        with self._lock:
            r = self.get(report_id)
            if in_flight is not None and r.in_flight is not in_flight:
                return None
            change = decide(r)
            if change is None:
                return None
            files = tuple(
                replace(f, **change.files.get(f.id, {})) if f.id in change.files else f
                for f in r.files
            )
            updated = replace(r, files=files, **change.report)
            self.reports[report_id] = updated
            for event in change.events:
                self.events.emit(event)
            return updated


@dataclass
class MemoryStatements:
    """The in-memory :class:`~keepdown.filings.sor_model.StatementStore`."""

    events: EventSink
    rows: dict[int, StoredStatement] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def plan(self, statements: Sequence[PlannedStatement], now: datetime) -> int:
        with self._lock:
            taken = {(r.organisation, r.environment, r.puid) for r in self.rows.values()}
            added = 0
            for p in statements:
                if (p.organisation, p.environment, p.puid) in taken:
                    continue
                row_id = max(self.rows, default=0) + 1
                self.rows[row_id] = StoredStatement(
                    id=row_id,
                    organisation=p.organisation,
                    environment=p.environment,
                    puid=p.puid,
                    decision=p.decision,
                    decided_at=p.decided_at,
                    body=p.body,
                    state=StatementState.INVALID if p.problems else StatementState.PENDING,
                    last_error="; ".join(p.problems)[:2000],
                )
                taken.add((p.organisation, p.environment, p.puid))
                added += 1
            return added

    def _claimable(self, r: StoredStatement, now: datetime) -> bool:
        if r.state is StatementState.PENDING:
            return r.next_attempt_at is None or r.next_attempt_at <= now
        return r.state is StatementState.SENDING and (
            r.lease_expires is not None and r.lease_expires <= now
        )

    def claim(
        self,
        organisation: str,
        environment: str,
        now: datetime,
        lease_seconds: float,
        batch: str,
        limit: int,
    ) -> list[StoredStatement]:
        with self._lock:
            chosen = [
                r
                for r in sorted(self.rows.values(), key=lambda r: r.id)
                if r.organisation == organisation
                and r.environment == environment
                and self._claimable(r, now)
            ][:limit]
            lease = now + timedelta(seconds=lease_seconds)
            claimed = []
            for r in chosen:
                updated = replace(r, state=StatementState.SENDING, batch=batch, lease_expires=lease)
                self.rows[r.id] = updated
                claimed.append(updated)
            return claimed

    def settle(
        self, batch: str, outcomes: dict[int, dict[str, Any]], events: Sequence[Event]
    ) -> int:
        with self._lock:
            settled = 0
            for row_id, values in outcomes.items():
                r = self.rows.get(row_id)
                if r is None or r.batch != batch or r.state is not StatementState.SENDING:
                    continue
                self.rows[row_id] = replace(r, **values)
                settled += 1
            if settled:
                for event in events:
                    self.events.emit(event)
            return settled

    def waiting(self, now: datetime) -> list[tuple[str, str]]:
        return sorted(
            {(r.organisation, r.environment) for r in self.rows.values() if self._claimable(r, now)}
        )

    def select(
        self,
        *,
        organisation: str | None = None,
        states: Sequence[StatementState] | None = None,
        limit: int = 100,
    ) -> list[StoredStatement]:
        return [
            r
            for r in sorted(self.rows.values(), key=lambda r: -r.id)
            if (organisation is None or r.organisation == organisation)
            and (states is None or r.state in states)
        ][:limit]

    def counts(self, organisation: str | None = None) -> dict[str, int]:
        out = {s.value: 0 for s in StatementState}
        for r in self.rows.values():
            if organisation is None or r.organisation == organisation:
                out[r.state.value] += 1
        return out
