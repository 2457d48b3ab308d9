"""Notices, locations and deliveries as plain values, and the store protocol they live in.

A :class:`Notice` is one removal request to one provider; each :class:`Location` in it has
its own :class:`~keepdown.notices.lifecycle.LocationStatus`. A location is a media URL and,
when the media sat inside a ZIP archive at that URL, the archive's entry name
(``archive_member``): a re-check opens the archive and checks that entry. A :class:`Candidate` is a
confirmed sighting no notice accounts for yet. A :class:`Delivery` is one row of the outbox:
one e-mail, webhook call or manual submission of a notice, re-notice or escalation.

:class:`NoticeStore` is implemented by ``keepdown.storage.notice_store.SqlNoticeStore``. Its
:meth:`~NoticeStore.mutate` runs a pure decision (lifecycle functions) against the current
rows and writes the new statuses, the notice's derived state and the events in one
transaction, so state and events can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.events import Event
from keepdown.notices.lifecycle import LocationState, LocationStatus, NoticeState

__all__ = [
    "Candidate",
    "Delivery",
    "DeliveryKind",
    "DeliveryState",
    "Location",
    "Mutation",
    "NewLocation",
    "Notice",
    "NoticeDraft",
    "NoticeStore",
]


class DeliveryKind(StrEnum):
    NOTICE = "notice"
    RENOTICE = "renotice"
    ESCALATION = "escalation"


class DeliveryState(StrEnum):
    PENDING = "pending"  # intent recorded; nothing sent yet
    SENDING = "sending"  # claimed by a sender; the network may be in use right now
    SENT = "sent"
    FAILED = "failed"  # gave up after notice_delivery_max_attempts: an operator looks
    UNCERTAIN = "uncertain"  # a sender died mid-send (e-mail): an operator confirms
    MANUAL = "manual"  # web-form provider: an analyst submits the form and confirms
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Location:
    """One location named in a notice."""

    id: int
    notice_id: int
    provider_id: int
    sighting_id: int | None
    media_url: str
    page_url: str
    host: str
    sha256: str
    md5: str
    pdq: str | None
    bank: str | None
    entry_id: int | None
    category: str | None
    detection: str
    status: LocationStatus
    archive_member: str = ""
    dispute_reason: str = ""
    reappearance_of: int | None = None
    reappearance_where: str | None = None
    #: The last time the crawler saw it here (a sighting linked to it), if ever.
    last_seen_at: datetime | None = None

    @property
    def seen_again(self) -> bool:
        """Withdrawn (dispute upheld), and the crawler saw it at the same place since: an
        analyst decides whether to reopen it (it is not notified again on its own)."""
        s = self.status
        return (
            s.state is LocationState.WITHDRAWN
            and self.last_seen_at is not None
            and s.reviewed_at is not None
            and self.last_seen_at > s.reviewed_at
        )

    @property
    def place(self) -> tuple[str, str]:
        """What makes two locations "the same place": the URL and the archive entry."""
        return (self.media_url, self.archive_member)


@dataclass(frozen=True)
class Notice:
    id: int
    reference: str
    provider_id: int
    provider: str
    state: NoticeState
    language: str
    reappearance: bool
    created_at: datetime
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None
    acknowledged_at: datetime | None = None
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    locations: tuple[Location, ...] = ()
    provider_country: str = ""

    def location(self, location_id: int) -> Location:
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        raise KeyError(location_id)


@dataclass(frozen=True)
class Candidate:
    """A confirmed sighting that no notice accounts for yet."""

    sighting_id: int
    media_url: str
    page_url: str
    final_url: str
    sha256: str
    md5: str
    pdq: str | None
    bank: str | None
    entry_id: int | None
    category: str | None
    seen_at: datetime
    server_ip: str | None
    provider_id: int | None
    archive_member: str = ""
    # What the crawler's attribution said (RDAP names a network even when the registry
    # does not know its provider): shown to analysts for unattributed hosts.
    attributed_provider: str | None = None
    asn: int | None = None
    network: str | None = None
    country: str = ""
    abuse_email: str | None = None


@dataclass(frozen=True)
class NewLocation:
    """A location to create in a new notice (from a sighting, or from a re-check)."""

    media_url: str
    page_url: str
    host: str
    sha256: str
    md5: str
    pdq: str | None
    bank: str | None
    entry_id: int | None
    category: str | None
    detected_at: datetime
    archive_member: str = ""
    sighting_ids: tuple[int, ...] = ()
    detection: str = "crawl"
    reappearance_of: int | None = None
    reappearance_where: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    notice_id: int
    reference: str
    kind: DeliveryKind
    channel: str
    recipients: tuple[str, ...]
    location_ids: tuple[int, ...]
    message_key: str
    subject: str
    body: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    claimed_at: datetime | None = None
    handover_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None

    @property
    def resend(self) -> bool:
        """An analyst's resend request (its message key names the request, not a schedule)."""
        return f"{self.reference}.resend." in self.message_key

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "kind": self.kind.value,
            "channel": self.channel,
            "recipients": list(self.recipients),
            "location_ids": list(self.location_ids),
            "message_key": self.message_key,
            "subject": self.subject,
            "state": self.state.value,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "last_error": self.last_error,
            "resend": self.resend,
        }


@dataclass(frozen=True)
class NoticeDraft:
    """A new notice to create (drafted) at ``at``: ``events`` are built once it has its ids."""

    provider_id: int
    language: str
    locations: tuple[NewLocation, ...]
    at: datetime
    reappearance: bool = False
    events: Callable[[Notice], list[Event]] | None = None


@dataclass
class Mutation:
    """What a decision changes in one notice: new location statuses, notice columns, events,
    location columns other than status (e.g. a dispute's reason), re-check rows, and new
    notices to draft in the same transaction (a reappearance found by a re-check; the store
    puts the notices it made in ``created``)."""

    statuses: dict[int, LocationStatus] = field(default_factory=dict)
    notice: dict[str, Any] = field(default_factory=dict)
    location_fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    check_rows: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[NoticeDraft] = field(default_factory=list)
    created: list[Notice] = field(default_factory=list)


class NoticeStore(Protocol):
    """Where notices live (see the module docstring)."""

    def candidates(self, *, limit: int = 10_000) -> list[Candidate]: ...

    def similar_locations(
        self, *, media_urls: Sequence[str], sha256s: Sequence[str], entry_ids: Sequence[int]
    ) -> list[Location]: ...

    def create_notice(self, draft: NoticeDraft) -> Notice | None:
        """The drafted notice, or None when another process accounted for one of its
        sightings first, or opened a location at one of its places meanwhile (the next pass
        drafts its sightings again and they join that location). Under the provider's lock;
        ends the watch of removed locations at its places (the new location takes over)."""
        ...

    def link_sighting(
        self, sighting_id: int, location_id: int, now: datetime, *, seen_at: datetime | None = None
    ) -> None:
        """Account for a sighting with an existing location (``seen_at``: when the crawler
        saw it, kept as the location's ``last_seen_at``)."""
        ...

    def get(self, reference: str) -> Notice: ...

    def get_by_id(self, notice_id: int) -> Notice: ...

    def list_notices(
        self,
        *,
        provider_ids: Sequence[int] | None = None,
        states: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Notice]: ...

    def notices_with_work(self, now: datetime) -> list[Notice]: ...

    def mutate(
        self,
        notice_id: int,
        decide: Callable[[Notice], Mutation | None],
        *,
        delivery: tuple[int, DeliveryState, dict[str, Any]] | None = None,
        lock_provider: bool = False,
    ) -> Notice | None:
        """Run ``decide`` on the notice's current rows and write what it says, in one
        transaction under the notice's lock (and first the provider's, with
        ``lock_provider``: what may draft a new location takes it, as drafting does). A
        draft whose place is already open at the provider, or, for a watch re-check's
        draft, whose place has a newer location than the watched one, is not created."""
        ...

    def enqueue(
        self,
        notice_id: int,
        kind: DeliveryKind,
        channel: str,
        recipients: Sequence[str],
        location_ids: Sequence[int],
        message_key: str,
        subject: str,
        body: str,
        now: datetime,
        *,
        state: DeliveryState = DeliveryState.PENDING,
        still_due: Callable[[Notice], bool] | None = None,
        despite_failure: bool = False,
        events: Callable[[Notice, Delivery], Sequence[Event]] | None = None,
    ) -> Delivery | None:
        """None when one of this kind is already on its way, ``still_due`` (asked under the
        notice's lock, on its current rows) says it is no longer due, or the last of its kind
        failed for good to the same channel and recipients (unless ``despite_failure``). A
        ``message_key`` recorded before answers that delivery (the same request, asked
        again). ``events`` are written with the new row."""
        ...

    def deliveries(
        self, *, notice_id: int | None = None, states: Sequence[str] | None = None
    ) -> list[Delivery]: ...

    def get_delivery(self, delivery_id: int) -> Delivery: ...

    def claim(
        self, now: datetime, lease_seconds: float, *, delivery_id: int | None = None
    ) -> Delivery | None: ...

    def settle(self, delivery_id: int, expected: DeliveryState, values: dict[str, Any]) -> bool: ...

    def expired_claims(self, now: datetime) -> list[Delivery]: ...
