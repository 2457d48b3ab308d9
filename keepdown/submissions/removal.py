"""Removal requests on a platform using keepdown, and their 48-hour clock.

A request is opened (:meth:`RemovalService.from_person`, :meth:`RemovalService.from_hold`) with
the copies already known and the hashes a sweep looks for; its clock runs from the time it was
received. Then, until it closes:

1. sweeps of the platform's stored content (:mod:`keepdown.submissions.sweep`) add the
   identical and near copies they find, mark a copy removed when it is no longer stored, and
   reopen a copy said to be removed that is still there;
2. the platform (API) or an analyst (web) records a copy removed, or dismisses a near copy
   that is not the same picture;
3. once every copy is removed or dismissed, and the content was swept at least once when
   sweeping is set up, the request closes: :class:`~keepdown.events.RemovalRequestClosed`
   carries the received, due and closed times, from which every published figure is computed.

A copy found after the request closed reopens it (the first closing still counts for the
figures). A request ends without removal when the person withdraws their submission or an
analyst finds it invalid (:class:`~keepdown.events.RemovalRequestWithdrawn`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keepdown.clock import Clock
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.events import (
    EventSink,
    RemovalItemFound,
    RemovalItemRemoved,
    RemovalRequestClosed,
    RemovalRequested,
    RemovalRequestWithdrawn,
)
from keepdown.submissions.model import HashKey, Submission
from keepdown.submissions.requests import (
    FoundBy,
    NewItem,
    Origin,
    RemovalItem,
    RemovalRequest,
    RemovalStore,
    RequestState,
)

__all__ = ["ClockPolicy", "RemovalService"]

MAX_NAMED = 50
MAX_REF = 1024


@dataclass(frozen=True)
class ClockPolicy:
    """How long a platform has (``removal_request_hours``) and whether its content is swept."""

    deadline: timedelta = timedelta(hours=48)
    sweeping: bool = False


class RemovalService:
    """See the module docstring. ``by`` is whoever acted: a username or an API key id."""

    def __init__(
        self,
        store: RemovalStore,
        events: EventSink,
        clock: Clock,
        policy: ClockPolicy | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.policy = policy or ClockPolicy()

    # --- opening ---------------------------------------------------------------------------

    def from_person(
        self,
        *,
        organisation: str,
        content_refs: Iterable[str],
        by: str,
        description: str = "",
        contact: str = "",
        received_at: datetime | None = None,
    ) -> RemovalRequest:
        """A person's request naming their content on the platform (storage keys, content ids
        or addresses). ``received_at``: when it reached the platform, if earlier than now."""
        now = self.clock.now()
        refs = _refs(content_refs)
        received = received_at or now
        if received > now:
            raise InvalidInput("a request cannot be received in the future", field="received_at")
        if len(description) > 4000 or len(contact) > 320:
            raise InvalidInput("the description or the contact is too long", field="description")
        items = [NewItem(content_ref=ref, how=FoundBy.NAMED) for ref in refs]
        return self._open(
            organisation, Origin.PERSON, received, by, items, (), description, contact, None, None
        )

    def from_hold(
        self,
        *,
        organisation: str,
        upload: NewItem,
        hashes: Iterable[HashKey],
        by: str,
        submission_id: int | None,
        hold_id: int,
    ) -> RemovalRequest:
        """The request a confirmed self-submission match starts: the held upload is its first
        copy; ``hashes`` (the submitted picture's and the upload's) are what sweeps look for."""
        now = self.clock.now()
        return self._open(
            organisation,
            Origin.SELF_SUBMISSION,
            now,
            by,
            [upload],
            hashes,
            "",
            "",
            submission_id,
            hold_id,
        )

    def _open(
        self,
        organisation: str,
        origin: Origin,
        received: datetime,
        by: str,
        items: list[NewItem],
        hashes: Iterable[HashKey],
        description: str,
        contact: str,
        submission_id: int | None,
        hold_id: int | None,
    ) -> RemovalRequest:
        request = self.store.create(
            organisation=organisation,
            origin=origin,
            received_at=received,
            due_at=received + self.policy.deadline,
            created_by=by,
            description=description,
            contact=contact,
            submission_id=submission_id,
            hold_id=hold_id,
            hashes=hashes,
            items=items,
            now=self.clock.now(),
        )
        self.events.emit(
            RemovalRequested(
                at=self.clock.now(),
                request_id=str(request.id),
                organisation=organisation,
                origin=origin.value,
                received_at=received,
                due_at=request.due_at,
            )
        )
        self._found(request.items)
        return request

    # --- copies ----------------------------------------------------------------------------

    def add_found(self, request_id: int, items: Iterable[NewItem]) -> list[RemovalItem]:
        """Add copies a sweep (or anyone) found; a closed request opens again."""
        request = self.store.get(request_id)
        if request.state is RequestState.WITHDRAWN:
            return []
        added = self.store.add_items(request_id, items, self.clock.now())
        self._found(added)
        if added:
            self._settle(request_id)
        return added

    def mark_removed(
        self, request_id: int, item_id: int, *, by: str, note: str = "", at: datetime | None = None
    ) -> RemovalItem:
        """Record that a copy is removed (now, or at ``at`` when that was earlier)."""
        now = self.clock.now()
        when = min(at or now, now)
        request = self._item_of(request_id, item_id)
        item = self.store.mark_removed(request_id, item_id, by=by, at=when, note=note[:2000])
        if item.removed_at == when and item.removed_by == by:
            self.events.emit(
                RemovalItemRemoved(
                    at=now, request_id=str(request.id), item_id=str(item_id), by=by, removed_at=when
                )
            )
        self._settle(request_id)
        return item

    def dismiss(self, request_id: int, item_id: int, *, by: str, note: str) -> RemovalItem:
        """A found copy is not the same picture (a near copy an analyst looked at)."""
        if not note.strip():
            raise InvalidInput("say why this copy is not the same picture", field="note")
        self._item_of(request_id, item_id)
        item = self.store.dismiss(request_id, item_id, by=by, at=self.clock.now(), note=note[:2000])
        self._settle(request_id)
        return item

    def seen_again(self, request_id: int, item_id: int) -> RemovalItem:
        """A copy recorded as removed is still stored: it is open again."""
        item = self.store.seen_again(request_id, item_id, self.clock.now())
        self._settle(request_id)
        return item

    def record_sweep(self, request_id: int) -> RemovalRequest:
        self.store.record_sweep(request_id, self.clock.now())
        return self._settle(request_id)

    # --- ending ----------------------------------------------------------------------------

    def withdraw_for(self, submission: Submission) -> list[RemovalRequest]:
        """End the open requests a withdrawn submission started."""
        ended = []
        for request in self.store.for_submission(submission.id):
            if request.state is not RequestState.WITHDRAWN:
                ended.append(self.end(request.id, "the person withdrew their submission"))
        return ended

    def end(self, request_id: int, reason: str) -> RemovalRequest:
        """End a request without removal (``reason``: why, for the record)."""
        if not reason.strip():
            raise InvalidInput("say why the request ends", field="reason")
        request = self.store.get(request_id)
        if request.state is RequestState.WITHDRAWN:
            return request
        ended = self.store.set_state(
            request_id, RequestState.WITHDRAWN, at=self.clock.now(), reason=reason[:200]
        )
        self.events.emit(
            RemovalRequestWithdrawn(
                at=self.clock.now(),
                request_id=str(request_id),
                organisation=ended.organisation,
                origin=ended.origin.value,
                reason=reason[:200],
            )
        )
        return ended

    # --- reading ---------------------------------------------------------------------------

    def get(self, request_id: int, organisation: str | None = None) -> RemovalRequest:
        """A request; one of another organisation than ``organisation`` (when given) is
        NotFound, as if it did not exist."""
        request = self.store.get(request_id)
        if organisation is not None and request.organisation != organisation:
            raise NotFound("no such removal request")
        return request

    def open_requests(self, organisation: str | None = None) -> list[RemovalRequest]:
        """Open requests, the soonest due first (overdue ones lead)."""
        found = self.store.requests(organisation=organisation, state=RequestState.OPEN)
        return sorted(found, key=lambda r: r.due_at)

    # --- the rule that closes ----------------------------------------------------------------

    def _settle(self, request_id: int) -> RemovalRequest:
        """Close a request whose copies are all resolved (step 3), reopen a closed one that
        has an open copy again."""
        request = self.store.get(request_id)
        now = self.clock.now()
        done = bool(request.items) and not request.open_items
        swept = request.last_sweep_at is not None or not self.policy.sweeping
        if request.state is RequestState.OPEN and done and swept:
            closed = self.store.set_state(request_id, RequestState.CLOSED, at=now)
            self._closed(closed)
            return closed
        if request.state is RequestState.CLOSED and not done:
            return self.store.set_state(request_id, RequestState.OPEN, at=now)
        return request

    def _closed(self, request: RemovalRequest) -> None:
        assert request.closed_at is not None
        self.events.emit(
            RemovalRequestClosed(
                at=request.closed_at,
                request_id=str(request.id),
                organisation=request.organisation,
                origin=request.origin.value,
                received_at=request.received_at,
                due_at=request.due_at,
                closed_at=request.closed_at,
                items=len(request.items),
            )
        )

    def _found(self, items: Iterable[RemovalItem]) -> None:
        for item in items:
            self.events.emit(
                RemovalItemFound(
                    at=item.found_at,
                    request_id=str(item.request_id),
                    item_id=str(item.id),
                    how=item.how.value,
                    match_type=item.match_type or "",
                )
            )

    def _item_of(self, request_id: int, item_id: int) -> RemovalRequest:
        request = self.store.get(request_id)
        if not any(i.id == item_id for i in request.items):
            raise NotFound("no such copy on this request", item=item_id)
        if request.state is RequestState.WITHDRAWN:
            raise Conflict("this request has ended")
        return request


def _refs(content_refs: Iterable[str]) -> list[str]:
    refs = []
    for ref in content_refs:
        text = str(ref).strip()
        if text and text not in refs:
            refs.append(text)
    if not refs:
        raise InvalidInput("name at least one piece of content to remove", field="content")
    if len(refs) > MAX_NAMED:
        raise InvalidInput(f"at most {MAX_NAMED} pieces of content per request", field="content")
    if any(len(ref) > MAX_REF for ref in refs):
        raise InvalidInput(f"a content reference has at most {MAX_REF} characters")
    return refs
