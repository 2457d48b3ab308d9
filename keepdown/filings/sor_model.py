"""Statements of reasons as keepdown keeps them, and the store they live in.

A statement is planned once per (organisation, environment, PUID): rendered, checked and
stored ``pending`` (or ``invalid``, with the schema's words, never sent). The outbox claims up
to 100 pending ones at a time (``sending``, under a lease), sends them as one batch and
settles each: ``sent`` (created now), ``existing`` (the database had that PUID already: an
earlier attempt got through), ``invalid`` (refused one by one) or back to ``pending`` (a
transient failure, or a batch the database refused because of another statement in it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.events import Event

__all__ = ["PlannedStatement", "StatementState", "StatementStore", "StoredStatement"]


class StatementState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    EXISTING = "existing"
    INVALID = "invalid"


@dataclass(frozen=True)
class PlannedStatement:
    """A statement ready to be stored."""

    organisation: str
    environment: str
    puid: str
    decision: str  # upload_blocked, hold_refused, copy_removed
    decided_at: datetime
    body: dict[str, Any]
    problems: tuple[str, ...] = ()  # from the schema: stored invalid, never sent


@dataclass(frozen=True)
class StoredStatement:
    id: int
    organisation: str
    environment: str
    puid: str
    decision: str
    decided_at: datetime
    body: dict[str, Any]
    state: StatementState
    attempts: int = 0
    batch: str = ""
    lease_expires: datetime | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    database_id: str = ""  # the database's own uuid for a statement it created
    last_error: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organisation": self.organisation,
            "environment": self.environment,
            "puid": self.puid,
            "decision": self.decision,
            "decided_at": self.decided_at.isoformat(),
            "state": self.state.value,
            "attempts": self.attempts,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "database_id": self.database_id,
            "last_error": self.last_error,
        }


class StatementStore(Protocol):
    """Where statements live (SQL in ``keepdown.storage``; an in-memory twin)."""

    def plan(self, statements: Sequence[PlannedStatement], now: datetime) -> int:
        """Store the statements whose PUID is new for their organisation and environment;
        how many were new."""
        ...

    def claim(
        self,
        organisation: str,
        environment: str,
        now: datetime,
        lease_seconds: float,
        batch: str,
        limit: int,
    ) -> list[StoredStatement]:
        """Up to ``limit`` pending statements due now (and any whose lease ran out), marked
        ``sending`` in ``batch``."""
        ...

    def settle(
        self, batch: str, outcomes: dict[int, dict[str, Any]], events: Sequence[Event]
    ) -> int:
        """Apply ``outcomes`` (statement id -> new values) to the statements still in
        ``batch``, with ``events``, in one transaction; how many were settled."""
        ...

    def waiting(self, now: datetime) -> list[tuple[str, str]]:
        """(organisation, environment) pairs with statements to send now."""
        ...

    def select(
        self,
        *,
        organisation: str | None = None,
        states: Sequence[StatementState] | None = None,
        limit: int = 100,
    ) -> list[StoredStatement]: ...

    def counts(self, organisation: str | None = None) -> dict[str, int]:
        """How many statements are in each state."""
        ...
