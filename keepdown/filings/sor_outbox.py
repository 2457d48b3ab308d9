"""The statements-of-reasons outbox: each decision reaches the Transparency Database once.

1. **plan**: read the decisions from the events (:func:`keepdown.filings.sor.decisions`) of
   every organisation with a DSA profile, render each as a statement for the profile's
   environment (sandbox or production), check it against the schema, and store the new PUIDs
   (``pending``; ``invalid`` with the schema's words when it does not pass). Planning again
   adds nothing: the PUID is derived from the event and unique per organisation and
   environment. Decisions before the profile's ``since`` day are the platform's own business;
2. **send**: per organisation and environment, claim up to 100 pending statements under a
   lease (``sending``), post them as one batch, and settle each statement with the batch's
   ``StatementsSubmitted`` event. The database creates a batch whole or not at all: when it
   names PUIDs it has already (an earlier attempt got through before a crash or a lost answer)
   those are ``existing`` and the rest are sent again at once; when it refuses some statements
   those are ``invalid`` and the rest go again. A refused token, a failure of the database or
   of the network puts the batch back, tried again after a back-off;
3. a sender that dies leaves its batch ``sending``: once the lease runs out the next claim
   takes it again, and the database's duplicate-PUID answer settles whatever had got through.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from keepdown.clock import Clock
from keepdown.errors import ConfigurationError, FilingError
from keepdown.events import EventSource, StatementsSubmitted
from keepdown.filings.dsa_client import MAX_BATCH, BatchAnswer, DsaService
from keepdown.filings.profiles import ProfileStore
from keepdown.filings.sor import DECISION_KINDS, decisions, statement
from keepdown.filings.sor_model import (
    PlannedStatement,
    StatementState,
    StatementStore,
    StoredStatement,
)
from keepdown.filings.validate import statement_problems

__all__ = ["StatementsOutbox", "StatementsPolicy", "StatementsReport"]

log = logging.getLogger("keepdown.filings")

DsaServiceFor = Callable[[str, str], DsaService]


@dataclass(frozen=True)
class StatementsPolicy:
    lease_seconds: float = 300.0
    backoff_seconds: float = 60.0
    batch_size: int = MAX_BATCH


@dataclass
class StatementsReport:
    """What one pass did."""

    planned: int = 0
    invalid_planned: int = 0
    undetermined: list[str] = field(default_factory=list)  # PUIDs left to the platform
    sent: int = 0
    existing: int = 0
    invalid: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class StatementsOutbox:
    """Plans and sends statements of reasons (module docstring)."""

    def __init__(
        self,
        store: StatementStore,
        profiles: ProfileStore,
        events: EventSource,
        service_for: DsaServiceFor,
        clock: Clock,
        policy: StatementsPolicy | None = None,
    ) -> None:
        self.store = store
        self.profiles = profiles
        self.events = events
        self.service_for = service_for
        self.clock = clock
        self.policy = policy or StatementsPolicy()

    def run(self, organisation: str | None = None) -> StatementsReport:
        """Plan and send (one organisation's statements, or everyone's)."""
        report = StatementsReport()
        self.plan(report, organisation)
        self.send(report, organisation)
        return report

    # --- 1. plan ---------------------------------------------------------------------------------

    def plan(self, report: StatementsReport, organisation: str | None = None) -> None:
        profiles = {
            p.organisation: p.dsa
            for p in self.profiles.all()
            if p.dsa is not None and (organisation is None or p.organisation == organisation)
        }
        if not profiles:
            return
        planned = []
        for decision in decisions(self.events.read(kinds=DECISION_KINDS)):
            dsa = profiles.get(decision.organisation)
            if dsa is None or decision.decided_at.date().isoformat() < dsa.since:
                continue
            if not decision.determined:
                report.undetermined.append(decision.puid)
                continue
            body = statement(decision, dsa)
            planned.append(
                PlannedStatement(
                    organisation=decision.organisation,
                    environment=dsa.environment.value,
                    puid=decision.puid,
                    decision=decision.kind,
                    decided_at=decision.decided_at,
                    body=body,
                    problems=tuple(statement_problems(body)),
                )
            )
        report.planned += self.store.plan(planned, self.clock.now())
        report.invalid_planned += sum(1 for p in planned if p.problems)

    # --- 2. send ---------------------------------------------------------------------------------

    def send(self, report: StatementsReport, organisation: str | None = None) -> None:
        for owner, environment in self.store.waiting(self.clock.now()):
            if organisation is None or owner == organisation:
                self._send_all(owner, environment, report)

    def _send_all(self, organisation: str, environment: str, report: StatementsReport) -> None:
        for _ in range(1000):  # a bound, not a limit: each round settles or stops
            batch = uuid.uuid4().hex
            now = self.clock.now()
            rows = self.store.claim(
                organisation,
                environment,
                now,
                self.policy.lease_seconds,
                batch,
                self.policy.batch_size,
            )
            if not rows:
                return
            try:
                answer = self._submit(organisation, environment, rows)
            except (FilingError, ConfigurationError) as exc:
                self._put_back(batch, rows, exc.message, report)
                report.errors.append(f"{organisation} ({environment}): {exc.message}")
                return
            self._settle(organisation, environment, batch, rows, answer, report)

    def _submit(
        self, organisation: str, environment: str, rows: list[StoredStatement]
    ) -> BatchAnswer:
        service = self.service_for(organisation, environment)
        try:
            return service.submit([r.body for r in rows])
        finally:
            service.close()

    def _settle(
        self,
        organisation: str,
        environment: str,
        batch: str,
        rows: list[StoredStatement],
        answer: BatchAnswer,
        report: StatementsReport,
    ) -> None:
        now = self.clock.now()
        existing = set(answer.existing)
        outcomes: dict[int, dict[str, Any]] = {}
        counts = {"accepted": 0, "existing": 0, "invalid": 0}
        for index, row in enumerate(rows):
            values: dict[str, Any] = {"batch": "", "lease_expires": None}
            if answer.accepted:
                values.update(
                    state=StatementState.SENT,
                    sent_at=now,
                    database_id=answer.created.get(row.puid, ""),
                    last_error="",
                )
                counts["accepted"] += 1
            elif row.puid in existing:
                values.update(state=StatementState.EXISTING, sent_at=now, last_error="")
                counts["existing"] += 1
            elif index in answer.invalid:
                values.update(
                    state=StatementState.INVALID, last_error="; ".join(answer.invalid[index])[:2000]
                )
                counts["invalid"] += 1
            else:  # refused only because of another statement in its batch: again at once
                values.update(state=StatementState.PENDING)
            outcomes[row.id] = values
        event = StatementsSubmitted(
            at=now, organisation=organisation, environment=environment, **counts
        )
        self.store.settle(batch, outcomes, [event])
        report.sent += counts["accepted"]
        report.existing += counts["existing"]
        report.invalid += counts["invalid"]

    def _put_back(
        self, batch: str, rows: list[StoredStatement], error: str, report: StatementsReport
    ) -> None:
        now = self.clock.now()
        outcomes = {}
        for row in rows:
            attempts = row.attempts + 1
            wait = self.policy.backoff_seconds * 2 ** min(attempts - 1, 10)
            outcomes[row.id] = {
                "state": StatementState.PENDING,
                "batch": "",
                "lease_expires": None,
                "attempts": attempts,
                "next_attempt_at": now + timedelta(seconds=wait),
                "last_error": error[:2000],
            }
        self.store.settle(batch, outcomes, [])
        report.retrying += len(rows)
        log.warning("statements of reasons: %s; %d put back", error, len(rows))

    def due_now(self, now: datetime | None = None) -> list[tuple[str, str]]:
        return self.store.waiting(now or self.clock.now())
