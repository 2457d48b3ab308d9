"""Uploads held for review: a platform's upload that matched a self-submitted hash.

A self-submitted hash is the word of one person about their own picture; it may be wrong, or
sent in bad faith. So a match never blocks on its own: the upload is **held** (the platform is
told "needs review" and does not publish it), and an analyst decides:

1. :meth:`HoldService.hold_upload`, from the API's check of an upload: the best match in a
   self-submitted bank (exact first, then the nearest) becomes a :class:`Hold`, with the
   platform's own reference to the upload. The same file from the same platform is held once:
   a second check answers with the first hold and its state;
2. :meth:`HoldService.decide`: **not a match** lets the upload through (and the same file is
   let through from then on); **confirm** means it is the person's picture: the removal
   request it starts (:meth:`keepdown.submissions.removal.RemovalService.from_hold`) looks
   for the upload and every copy of the submitted picture in the platform's stored content,
   and the same file is blocked from then on (an analyst has seen it).

:class:`HoldStore` is implemented by ``keepdown.storage.hold_store`` and, in memory, by
:mod:`keepdown.submissions.memory`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.clock import Clock
from keepdown.errors import InvalidInput
from keepdown.events import EventSink, HoldDecided, UploadHeld
from keepdown.submissions.model import HashKey, SubmissionStore
from keepdown.submissions.removal import RemovalService
from keepdown.submissions.requests import FoundBy, NewItem, RemovalRequest

__all__ = ["Hold", "HoldMatch", "HoldService", "HoldState", "HoldStore", "UploadHashes"]


class HoldState(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    NOT_A_MATCH = "not_a_match"

    @property
    def verdict(self) -> str:
        """What the platform should do with the upload: review (hold it), block, allow."""
        return {"held": "review", "confirmed": "block", "not_a_match": "allow"}[self.value]


@dataclass(frozen=True)
class UploadHashes:
    """The upload's own hashes (what keepdown computed from its bytes)."""

    md5: str
    sha256: str
    pdq: str | None = None
    quality: int | None = None


@dataclass(frozen=True)
class HoldMatch:
    """The self-submitted bank entry the upload matched, and how."""

    bank: str
    entry_id: int
    signal_type: str
    match_type: str  # exact or near
    distance: int
    variant: str | None = None


@dataclass(frozen=True)
class Hold:
    id: int
    organisation: str
    key_id: str
    content_ref: str
    hashes: UploadHashes
    match: HoldMatch
    state: HoldState
    held_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return self.state.verdict


class HoldStore(Protocol):
    """Where held uploads live (implemented by ``keepdown.storage``)."""

    def hold(
        self,
        *,
        organisation: str,
        key_id: str,
        content_ref: str,
        hashes: UploadHashes,
        match: HoldMatch,
        now: datetime,
    ) -> tuple[Hold, bool]:
        """A new hold, or the existing one for the same organisation, file and bank;
        True when new."""
        ...

    def get(self, hold_id: int) -> Hold: ...

    def waiting(self, limit: int = 100) -> list[Hold]:
        """Held uploads not decided yet, oldest first."""
        ...

    def recent(self, *, organisation: str | None = None, limit: int = 100) -> list[Hold]: ...

    def decide(self, hold_id: int, state: HoldState, *, by: str, note: str, now: datetime) -> Hold:
        """Decide a held upload; Conflict when it was decided already."""
        ...

    def entry_key(self, hold_id: int) -> HashKey:
        """The (signal type, value) of the bank entry the upload matched."""
        ...

    def confirmed_without_request(self) -> list[Hold]:
        """Confirmed holds no removal request points at (a crash between the two)."""
        ...


_DECISIONS = {"confirm": HoldState.CONFIRMED, "not_a_match": HoldState.NOT_A_MATCH}


def best_self_submitted(matches: Iterable[Any], self_submitted: Callable[[str], bool]) -> Any:
    """The match to hold on: in a self-submitted bank, exact before near, nearest first."""
    mine = [m for m in matches if self_submitted(m.bank)]
    if not mine:
        return None
    return min(mine, key=lambda m: (m.match_type != "exact", m.distance, m.entry_id))


class HoldService:
    """See the module docstring."""

    def __init__(
        self,
        store: HoldStore,
        submissions: SubmissionStore,
        removals: RemovalService,
        events: EventSink,
        clock: Clock,
    ) -> None:
        self.store = store
        self.submissions = submissions
        self.removals = removals
        self.events = events
        self.clock = clock

    def hold_upload(
        self,
        *,
        organisation: str,
        key_id: str,
        content_ref: str,
        hashes: UploadHashes,
        match: HoldMatch,
    ) -> Hold:
        """Step 1: hold the upload (or find its earlier hold)."""
        ref = content_ref.strip() or f"sha256:{hashes.sha256}"
        if len(ref) > 1024:
            raise InvalidInput("content_ref has at most 1024 characters", field="content_ref")
        hold, new = self.store.hold(
            organisation=organisation,
            key_id=key_id,
            content_ref=ref,
            hashes=hashes,
            match=match,
            now=self.clock.now(),
        )
        if new:
            self.events.emit(
                UploadHeld(
                    at=hold.held_at,
                    hold_id=str(hold.id),
                    organisation=organisation,
                    bank=match.bank,
                    match_type=match.match_type,
                )
            )
        return hold

    def decide(
        self, hold_id: int, *, analyst: str, decision: str, note: str = ""
    ) -> tuple[Hold, RemovalRequest | None]:
        """Step 2: ``confirm`` or ``not_a_match``; the hold, and the request it started."""
        state = _DECISIONS.get(decision)
        if state is None:
            raise InvalidInput("the decision is confirm or not_a_match", field="decision")
        now = self.clock.now()
        hold = self.store.decide(hold_id, state, by=analyst, note=note[:2000], now=now)
        request = self._request_for(hold, analyst) if state is HoldState.CONFIRMED else None
        self.events.emit(
            HoldDecided(
                at=now,
                hold_id=str(hold.id),
                decision=state.value,
                analyst=analyst,
                bank=hold.match.bank,
                request_id=str(request.id) if request else "",
            )
        )
        return hold, request

    def _request_for(self, hold: Hold, by: str) -> RemovalRequest:
        """The removal request of a confirmed hold: the upload, and the submitted picture's
        hashes with the upload's own for the sweeps."""
        key = self.store.entry_key(hold.id)
        holders = self.submissions.holders(hold.match.bank, key)
        submission_id = holders[0] if holders else None
        looked_for: set[HashKey] = {("md5", hold.hashes.md5), ("sha256", hold.hashes.sha256)}
        if hold.hashes.pdq:
            looked_for.add(("pdq", hold.hashes.pdq))
        looked_for.add(key)
        if submission_id is not None:
            picture = self.submissions.hashes(submission_id)
            items = {h.item for h in picture if h.key == key}
            looked_for |= {h.key for h in picture if h.item in items}
        upload = NewItem(
            content_ref=hold.content_ref,
            how=FoundBy.UPLOAD,
            sha256=hold.hashes.sha256,
            pdq=hold.hashes.pdq,
            signal_type=hold.match.signal_type,
            match_type=hold.match.match_type,
            distance=hold.match.distance,
        )
        return self.removals.from_hold(
            organisation=hold.organisation,
            upload=upload,
            hashes=looked_for,
            by=by,
            submission_id=submission_id,
            hold_id=hold.id,
        )

    def reconcile(self) -> int:
        """Open the request of every confirmed hold that has none (a crash between the
        decision and the request); how many were opened."""
        opened = 0
        for hold in self.store.confirmed_without_request():
            self._request_for(hold, hold.decided_by or "keepdown")
            opened += 1
        return opened

    def waiting(self, limit: int = 100) -> list[Hold]:
        return self.store.waiting(limit)
