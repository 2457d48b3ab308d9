"""The exchanges' outbox: what goes out to an exchange is recorded before it is sent.

Two kinds of message leave keepdown for an exchange: **feedback** (an analyst's verdict on a
match of one of the exchange's records) and **submissions** (hashes of a bank the operator
chose to publish). Both live in one outbox with the notices' discipline
(``keepdown.notices.outbox``):

1. **record**: a planner writes one row per target (a record and signal type; a batch of a
   published bank). A new decision on the same target changes the row's message and raises
   its ``version``; the same message again changes nothing;
2. **claim**: a sender takes one due row under a lease (``pending`` -> ``sending``), so two
   workers never send one row;
3. **send** it, then **settle**: ``sent`` records the version sent (a change that arrived
   meanwhile leaves the row ``pending`` for the new version); a failure goes back to
   ``pending`` with a back-off, or ``failed`` for good;
4. **recover**: a row still ``sending`` after its lease (the worker was killed) goes back to
   ``pending`` when the kind's message is idempotent at the exchange (a vote, a feedback
   value, a reaction: a state, so sending it again leaves exactly one), and to
   ``uncertain`` otherwise, for an operator to confirm (never sent twice blindly).

That is what "exactly once" means here: every decision reaches the exchange, and the
exchange holds exactly one verdict of ours per record and signal type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = ["OutboxItem", "OutboxKind", "OutboxState", "OutboxStore", "Planned"]

log = logging.getLogger("keepdown.exchanges")


class OutboxKind(StrEnum):
    FEEDBACK = "feedback"
    SUBMISSION = "submission"


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good, or out of attempts: an operator may retry
    UNCERTAIN = "uncertain"  # a non-idempotent send was interrupted: an operator confirms


@dataclass(frozen=True)
class OutboxItem:
    """One row of the outbox (module docstring). ``payload`` holds ``message`` (what is sent)
    and ``because`` (what asked for it: the decision, the analyst...)."""

    id: int
    kind: OutboxKind
    feed_id: int
    target: str
    payload: Mapping[str, Any]
    version: int
    sent_version: int | None
    state: OutboxState
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires: datetime | None
    last_error: str
    audit_id: int | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @property
    def message(self) -> Mapping[str, Any]:
        found: Mapping[str, Any] = self.payload.get("message", {})
        return found

    @property
    def because(self) -> Mapping[str, Any]:
        found: Mapping[str, Any] = self.payload.get("because", {})
        return found


@dataclass(frozen=True)
class Planned:
    """A row a planner wants: the target, the message to send, and why."""

    kind: OutboxKind
    feed_id: int
    target: str
    message: Mapping[str, Any]
    because: Mapping[str, Any]


class OutboxStore(Protocol):
    """Where the outbox lives (``keepdown.storage.exchange_outbox``)."""

    def record(
        self,
        planned: Sequence[Planned],
        now: datetime,
        *,
        cursor: tuple[str, int, int] | None = None,
    ) -> int:
        """Write the planned rows (step 1) in one transaction; how many changed. With
        ``cursor`` = (name, expected, new) the planner's cursor moves from ``expected`` to
        ``new`` in the same transaction, or nothing is written (another planner moved it)."""
        ...

    def cursor(self, name: str) -> int: ...

    def claim(
        self, now: datetime, owner: str, until: datetime, *, kinds: Sequence[OutboxKind]
    ) -> OutboxItem | None:
        """Take the oldest due ``pending`` row of ``kinds`` under a lease (step 2)."""
        ...

    def settle_sent(self, item: OutboxItem, owner: str, now: datetime, **values: Any) -> bool:
        """``sent`` for the version claimed (``pending`` again if a newer one is waiting)."""
        ...

    def settle_failed(
        self,
        item: OutboxItem,
        owner: str,
        now: datetime,
        *,
        error: str,
        retry_at: datetime | None,
    ) -> bool:
        """Back to ``pending`` at ``retry_at``, or ``failed`` when it is None."""
        ...

    def recover(
        self, now: datetime, *, uncertain: Callable[[OutboxItem], bool]
    ) -> list[OutboxItem]:
        """Rows ``sending`` past their lease: ``pending`` again, or ``uncertain`` for those
        whose message is not idempotent at the exchange (step 4)."""
        ...

    def set_audit(self, item_id: int, audit_id: int) -> None: ...

    def items(
        self,
        *,
        kind: OutboxKind | None = None,
        feed_id: int | None = None,
        states: Sequence[OutboxState] | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]: ...

    def get(self, item_id: int) -> OutboxItem: ...

    def resolve(self, item_id: int, now: datetime, *, delivered: bool) -> OutboxItem:
        """An operator's word on an ``uncertain`` or ``failed`` row: ``sent``, or send again."""
        ...
