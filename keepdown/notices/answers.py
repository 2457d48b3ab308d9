"""The provider's answers to a notice, an analyst's review of a dispute, and a reopening.

A provider answers through the signed link in the notice, or with a provider-role API key:
it acknowledges the notice, reports a location removed (which only brings its re-check
forward: a check, not the word, confirms removal), or disputes a location (re-notices and
escalation stop until an analyst reviews it: ``upheld`` withdraws it, ``rejected`` puts it
back where it was). Each answer goes through the pure lifecycle functions and
:meth:`~keepdown.notices.model.NoticeStore.mutate`, with its event, in one transaction.
Answering twice is harmless: a second acknowledgement or dispute changes nothing.

A withdrawn location (dispute upheld) is never notified again on its own, even when the
crawler sees the same material at the same place again (it is kept with the location, which
then shows "seen again"); an analyst who decides the dispute no longer stands **reopens** it
(:meth:`Answers.reopen`): the same location, open again where it rested, checked at once and
re-noticed on its schedule, with its dispute kept in its history (``LocationReopened``).
"""

from __future__ import annotations

from collections.abc import Callable

from keepdown.clock import Clock
from keepdown.errors import Conflict, NotFound
from keepdown.events import (
    DisputeReviewed,
    LocationReopened,
    NoticeAcknowledged,
    NoticeDisputed,
    RemovalReported,
)
from keepdown.notices import lifecycle as lc
from keepdown.notices.model import Location, Mutation, Notice, NoticeStore

__all__ = ["Answers"]


def _location_in(notice: Notice, location_id: int) -> Location:
    try:
        return notice.location(location_id)
    except KeyError:
        raise NotFound(
            f"notice {notice.reference} names no location {location_id}", location_id=location_id
        ) from None


def _who(notice: Notice) -> dict[str, str]:
    """The provider fields every answer event carries."""
    return {
        "notice_ref": notice.reference,
        "provider": notice.provider,
        "provider_id": str(notice.provider_id),
        "country": notice.provider_country,
    }


class Answers:
    """See the module docstring. ``provider_id`` given: the notice must be that provider's
    (a provider key or a link for another notice sees "not found")."""

    def __init__(self, store: NoticeStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def _notice_for(self, reference: str, provider_id: int | None) -> Notice:
        notice = self.store.get(reference)
        if provider_id is not None and notice.provider_id != provider_id:
            raise NotFound(f"no notice {reference!r}", reference=reference)
        return notice

    def _change(self, notice: Notice, decide: Callable[[Notice], Mutation | None]) -> Notice:
        changed = self.store.mutate(notice.id, decide)
        return changed if changed is not None else self.store.get_by_id(notice.id)

    def acknowledge(self, reference: str, *, provider_id: int | None = None) -> Notice:
        notice = self._notice_for(reference, provider_id)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation | None:
            if current.acknowledged_at is not None:
                return None
            if current.state is lc.NoticeState.DRAFTED:
                raise Conflict("this notice was not sent yet")
            change = Mutation(notice={"acknowledged_at": at})
            for loc in current.locations:
                if loc.status.open:
                    change.statuses[loc.id] = lc.acknowledged(loc.status, at)
            change.events.append(
                NoticeAcknowledged(
                    at=at, locations=tuple(str(i) for i in change.statuses), **_who(current)
                )
            )
            return change

        return self._change(notice, decide)

    def report_removed(
        self, reference: str, location_id: int, *, provider_id: int | None = None
    ) -> Notice:
        """The provider says a location is gone: it is re-checked at once."""
        notice = self._notice_for(reference, provider_id)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation:
            loc = _location_in(current, location_id)
            return Mutation(
                statuses={loc.id: lc.removal_reported(loc.status, at)},
                events=[RemovalReported(at=at, location_id=str(loc.id), **_who(current))],
            )

        return self._change(notice, decide)

    def dispute(
        self, reference: str, location_id: int, reason: str, *, provider_id: int | None = None
    ) -> Notice:
        notice = self._notice_for(reference, provider_id)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation | None:
            loc = _location_in(current, location_id)
            if loc.status.state is lc.LocationState.DISPUTED:
                return None
            return Mutation(
                statuses={loc.id: lc.disputed(loc.status, at)},
                location_fields={loc.id: {"dispute_reason": reason[:4000]}},
                events=[
                    NoticeDisputed(
                        at=at, location_id=str(loc.id), reason=reason[:500], **_who(current)
                    )
                ],
            )

        return self._change(notice, decide)

    def review(self, reference: str, location_id: int, outcome: str) -> Notice:
        """An analyst's decision on a disputed location (``upheld`` or ``rejected``)."""
        notice = self.store.get(reference)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation:
            loc = _location_in(current, location_id)
            return Mutation(
                statuses={loc.id: lc.reviewed(loc.status, at, outcome)},
                events=[
                    DisputeReviewed(
                        at=at, location_id=str(loc.id), outcome=outcome, **_who(current)
                    )
                ],
            )

        return self._change(notice, decide)

    def reopen(self, reference: str, location_id: int, *, reason: str = "", by: str = "") -> Notice:
        """An analyst reopens a withdrawn location (module docstring)."""
        notice = self.store.get(reference)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation:
            loc = _location_in(current, location_id)
            return Mutation(
                statuses={loc.id: lc.reopened(loc.status, at)},
                notice={"closed_at": None},
                events=[
                    LocationReopened(
                        at=at,
                        location_id=str(loc.id),
                        reason=reason[:500],
                        by=by[:100],
                        **_who(current),
                    )
                ],
            )

        return self._change(notice, decide)
