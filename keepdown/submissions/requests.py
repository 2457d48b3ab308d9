"""Removal requests and their clock: the values, and the store they live in.

A :class:`RemovalRequest` asks a platform that uses keepdown to remove a person's pictures.
It comes from the person (``origin`` person: they name the content), or from a self-submitted
hash an analyst confirmed on an upload (``origin`` self-submission). Its clock starts when the
request is received; the removal is due ``deadline`` later (48 hours by default, the US TAKE IT
DOWN Act's). Each copy to remove is a :class:`RemovalItem`: named in the request, the held
upload itself, or found by a sweep of the platform's stored content (identical or near
copies). A request closes when every copy is removed (or dismissed as not the same picture).

:class:`RemovalStore` is implemented by ``keepdown.storage.removal_store`` and, in memory, by
:mod:`keepdown.submissions.memory`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from keepdown.submissions.model import HashKey

__all__ = [
    "ClockState",
    "FoundBy",
    "NewItem",
    "Origin",
    "RemovalItem",
    "RemovalRequest",
    "RemovalStore",
    "RequestState",
    "reference",
]


class Origin(StrEnum):
    PERSON = "person"
    SELF_SUBMISSION = "self-submission"


class RequestState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # every copy removed or dismissed
    WITHDRAWN = "withdrawn"  # ended without removal (the person withdrew, or found invalid)


class FoundBy(StrEnum):
    NAMED = "named"  # the request named it
    UPLOAD = "upload"  # the held upload an analyst confirmed
    SWEEP = "sweep"  # a sweep of the platform's stored content found it


class ClockState(StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    CLOSED_IN_TIME = "closed-in-time"
    CLOSED_LATE = "closed-late"
    WITHDRAWN = "withdrawn"


def reference(request_id: int) -> str:
    """How people refer to a request: ``RR-000042``."""
    return f"RR-{request_id:06d}"


@dataclass(frozen=True)
class NewItem:
    """A copy to add to a request."""

    content_ref: str  #: the platform's own name for it (storage key, content id, URL)
    how: FoundBy
    source: str = ""  #: the sweep source it was found in
    sha256: str | None = None
    pdq: str | None = None
    signal_type: str | None = None  #: the signal that matched
    match_type: str | None = None  #: exact or near
    distance: int | None = None


@dataclass(frozen=True)
class RemovalItem:
    id: int
    request_id: int
    content_ref: str
    how: FoundBy
    source: str
    sha256: str | None
    pdq: str | None
    signal_type: str | None
    match_type: str | None
    distance: int | None
    found_at: datetime
    removed_at: datetime | None = None
    removed_by: str | None = None
    removal_note: str = ""
    seen_again_at: datetime | None = None  #: a sweep still found it after a removal
    dismissed_at: datetime | None = None
    dismissed_by: str | None = None

    @property
    def resolved(self) -> bool:
        """Removed, or dismissed as not the same picture."""
        return self.removed_at is not None or self.dismissed_at is not None


@dataclass(frozen=True)
class RemovalRequest:
    id: int
    organisation: str  #: whose content: the platform
    origin: Origin
    submission_id: int | None
    hold_id: int | None
    received_at: datetime
    due_at: datetime
    state: RequestState
    closed_at: datetime | None
    first_closed_at: datetime | None
    ended_reason: str | None
    description: str
    contact: str
    created_by: str
    last_sweep_at: datetime | None
    items: tuple[RemovalItem, ...] = ()

    @property
    def reference(self) -> str:
        return reference(self.id)

    def clock(self, now: datetime) -> ClockState:
        """Where the request stands against its deadline."""
        if self.state is RequestState.WITHDRAWN:
            return ClockState.WITHDRAWN
        if self.state is RequestState.CLOSED and self.closed_at is not None:
            late = self.closed_at > self.due_at
            return ClockState.CLOSED_LATE if late else ClockState.CLOSED_IN_TIME
        return ClockState.OVERDUE if now > self.due_at else ClockState.DUE

    def time_left(self, now: datetime) -> timedelta:
        """Until the deadline (negative once overdue)."""
        return self.due_at - now

    @property
    def open_items(self) -> list[RemovalItem]:
        return [i for i in self.items if not i.resolved]


class RemovalStore(Protocol):
    """Where removal requests live (implemented by ``keepdown.storage``)."""

    def create(
        self,
        *,
        organisation: str,
        origin: Origin,
        received_at: datetime,
        due_at: datetime,
        created_by: str,
        description: str = "",
        contact: str = "",
        submission_id: int | None = None,
        hold_id: int | None = None,
        hashes: Iterable[HashKey] = (),
        items: Iterable[NewItem] = (),
        now: datetime,
    ) -> RemovalRequest:
        """Store a request with what to look for and the copies already known, in one
        transaction; NotFound for an unknown organisation."""
        ...

    def get(self, request_id: int) -> RemovalRequest:
        """The request with its items; NotFound otherwise."""
        ...

    def requests(
        self,
        *,
        organisation: str | None = None,
        state: RequestState | None = None,
        limit: int = 200,
    ) -> list[RemovalRequest]:
        """Newest first (open ones by due time when ``state`` is open)."""
        ...

    def for_submission(self, submission_id: int) -> list[RemovalRequest]: ...

    def by_hold(self, hold_id: int) -> RemovalRequest | None:
        """The request a confirmed hold started, if any."""
        ...

    def hashes(self, request_id: int) -> set[HashKey]: ...

    def add_hashes(self, request_id: int, hashes: Iterable[HashKey]) -> None: ...

    def add_items(
        self, request_id: int, items: Iterable[NewItem], now: datetime
    ) -> list[RemovalItem]:
        """Add the copies not already on the request (by ``content_ref``); the new ones."""
        ...

    def mark_removed(
        self, request_id: int, item_id: int, *, by: str, at: datetime, note: str = ""
    ) -> RemovalItem:
        """Record a copy's removal (kept as first recorded when recorded again)."""
        ...

    def dismiss(
        self, request_id: int, item_id: int, *, by: str, at: datetime, note: str
    ) -> RemovalItem:
        """Record that a found copy is not the same picture."""
        ...

    def seen_again(self, request_id: int, item_id: int, at: datetime) -> RemovalItem:
        """A sweep found a removed copy still there: it is open again."""
        ...

    def set_state(
        self, request_id: int, state: RequestState, *, at: datetime, reason: str | None = None
    ) -> RemovalRequest:
        """Close (``closed_at``; ``first_closed_at`` once), reopen, or end (withdrawn) it."""
        ...

    def record_sweep(self, request_id: int, at: datetime) -> None: ...
