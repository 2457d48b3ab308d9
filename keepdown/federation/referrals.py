"""Referrals between hotlines: the outbox they leave by, the record of those received, and
how the receiver's own events become status callbacks.

Sending (exactly once, across kills), the notices' discipline:

1. **plan**: a referral or status message is signed once and stored in the federation outbox
   under a ``dedupe`` key (``referral:<location>``, ``status:<reference>:<status>``) with the
   next sequence number of its (peer, stream); planning it again changes nothing;
2. **claim**: a worker takes the oldest due message under a lease, and never one whose
   stream has an earlier message not yet delivered (the peer receives each stream in order);
3. **send** the stored envelope as it is, then **settle**: delivered (the peer accepted it,
   or answered that it already holds it: ``replayed``), or back to pending with a back-off,
   or ``failed`` for an answer no retry can change;
4. a worker killed between send and settle leaves the row ``sending``; its lease expires and
   the next claim sends the same envelope again, which the peer refuses as ``replayed``
   without a second effect and the sender settles as delivered. So each message takes effect
   at the peer exactly once.

Receiving: the message is verified (:func:`keepdown.federation.messages.accept`) and stored
with its inbox row in one transaction; a referral's URLs then become reported URLs (the
receiver's crawler checks them itself), and the receiver's events are mapped to statuses
(:func:`status_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from keepdown.events import (
    Event,
    NoticeSent,
    ReappearanceDetected,
    RemovalConfirmed,
    ReviewDecided,
    SightingRecorded,
)

__all__ = [
    "OutboxMessage",
    "ReferralRecord",
    "ReferralStore",
    "StatusChange",
    "status_of",
]


@dataclass(frozen=True)
class OutboxMessage:
    """A message claimed for sending."""

    id: int
    peer_id: int
    stream: str
    seq: int
    dedupe: str
    envelope: Mapping[str, Any]
    attempts: int


@dataclass(frozen=True)
class ReferralRecord:
    """A referral as one side keeps it: ``direction`` ``out`` (ours) or ``in`` (a peer's).

    ``local_ref``: for ``out`` the location or sighting referred, for ``in`` the reported URL
    reference it became. ``body`` holds the referral as sent or received, and what the
    receiver learnt of it (its sightings and locations, media it had already assessed)."""

    id: int
    direction: str
    peer: str
    peer_id: int
    reference: str
    local_ref: str
    country: str
    body: Mapping[str, Any]
    state: str
    created_at: datetime
    updated_at: datetime
    timeline: tuple[tuple[str, datetime, str], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "peer": self.peer,
            "reference": self.reference,
            "local_ref": self.local_ref,
            "country": self.country,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "items": list(self.body.get("items", [])),
            "already_assessed": list(self.body.get("known", [])),
            "timeline": [
                {"status": s, "at": at.isoformat(), "reason": reason}
                for s, at, reason in self.timeline
            ],
        }


class ReferralStore(Protocol):
    """The federation outbox, inbox and referrals (``keepdown.storage.referral_store``)."""

    def plan(
        self,
        peer_id: int,
        stream: str,
        dedupe: str,
        build: Callable[[int], Mapping[str, Any]],
        now: datetime,
        *,
        referral: Mapping[str, Any] | None = None,
    ) -> bool:
        """Store the envelope ``build(seq)`` under ``dedupe`` (False: planned before)."""
        ...

    def claim(self, now: datetime, owner: str, until: datetime) -> OutboxMessage | None: ...

    def settle(
        self,
        message: OutboxMessage,
        owner: str,
        now: datetime,
        *,
        error: str = "",
        retry_at: datetime | None = None,
        failed: bool = False,
    ) -> None: ...

    def seen(self, sender: str, stream: str, seq: int) -> str | None: ...

    def referral(self, direction: str, peer_id: int, reference: str) -> ReferralRecord | None: ...

    def referrals(self, *, direction: str | None = None) -> list[ReferralRecord]: ...

    def add_status(
        self, referral_id: int, status: str, at: datetime, reason: str, now: datetime
    ) -> bool:
        """Add a status to a referral's timeline (False: it had it already)."""
        ...


@dataclass(frozen=True)
class StatusChange:
    """A status an event gives the inbound referrals it concerns."""

    status: str
    at: datetime
    sighting_ids: tuple[str, ...] = ()
    location_ids: tuple[str, ...] = ()
    report_ref: str = ""
    reason: str = ""


def status_of(event: Event) -> StatusChange | None:
    """The status ``event`` means for a referral (None: none; status "": a link only).

    A sighting of a crawl started by a referral's reported URL is linked to it (the report's
    reference says which referral): ``confirmed`` when it is; an analyst's decision on one:
    ``confirmed`` or ``not_illegal``; a notice naming a referral's sighting: ``notice_sent``
    (its locations are remembered); a removal or a reappearance at one of those locations:
    ``removed``, ``reappeared``."""
    if isinstance(event, SightingRecorded) and event.report_ref:
        # a sighting of a referral's crawl: linked to it; confirmed at once, or after review
        status = "confirmed" if event.state == "confirmed" else ""
        return StatusChange(status, event.at, (event.sighting_id,), report_ref=event.report_ref)
    if isinstance(event, ReviewDecided) and event.decision in ("confirm", "not_a_match"):
        status = "confirmed" if event.decision == "confirm" else "not_illegal"
        return StatusChange(status, event.at, (event.sighting_id,))
    if isinstance(event, NoticeSent):
        sightings = tuple(s for s in (*event.sighting_ids, *event.location_sightings) if s)
        return StatusChange("notice_sent", event.at, sightings, tuple(event.locations))
    if isinstance(event, RemovalConfirmed):
        return StatusChange("removed", event.removal_time, location_ids=(event.location_id,))
    if isinstance(event, ReappearanceDetected):
        return StatusChange(
            "reappeared",
            event.at,
            (event.sighting_id,),
            (event.previous_location_id,),
        )
    return None


#: The event kinds :func:`status_of` reads.
STATUS_EVENT_KINDS: Sequence[str] = (
    SightingRecorded.kind,
    ReviewDecided.kind,
    NoticeSent.kind,
    RemovalConfirmed.kind,
    ReappearanceDetected.kind,
)
