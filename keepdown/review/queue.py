"""The review queue: enqueue, claim, reveal, decide.

An analyst works one item at a time:

1. :meth:`ReviewService.next` gives every new ``pending_review`` sighting a queue row, then
   hands the analyst the item they already hold, or claims the oldest free one for
   ``claim_for`` (another analyst can take it only once that claim has expired, so two
   analysts never hold the same item). Senior analysts see escalated items first;
2. the media is shown blurred; :meth:`ReviewService.reveal` runs the caller's ``record``
   (the audit log) *first* and only then marks the item revealed, so no unblurred byte can be
   served for a reveal that is not on record;
3. :meth:`ReviewService.decide` applies the decision of the item's holder in one
   transaction and emits :class:`~keepdown.events.ReviewDecided`: ``confirm`` confirms the
   sighting (the notice service drafts it), ``not_a_match`` rejects it and can put the
   candidate on the allow-list, ``escalate`` moves it to the senior queue, ``skip`` lets it
   go back (not to this analyst for ``skip_for``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from keepdown.clock import Clock
from keepdown.errors import Conflict, Forbidden, InvalidInput
from keepdown.events import EventSink, MediaRevealed, ReviewDecided
from keepdown.review.model import (
    AllowEntry,
    Decision,
    Prefs,
    Queue,
    ReviewItem,
    ReviewStore,
    check_category,
)

__all__ = ["QueueConfig", "ReviewService"]


@dataclass(frozen=True)
class QueueConfig:
    claim_for: timedelta = timedelta(minutes=10)
    skip_for: timedelta = timedelta(minutes=60)
    default_prefs: Prefs = field(default_factory=Prefs)

    @classmethod
    def from_settings(cls, settings: object) -> QueueConfig:
        s = settings
        return cls(
            claim_for=timedelta(minutes=int(s.review_claim_minutes)),  # type: ignore[attr-defined]
            skip_for=timedelta(minutes=int(s.review_skip_minutes)),  # type: ignore[attr-defined]
            default_prefs=Prefs(
                blur=int(s.review_default_blur),  # type: ignore[attr-defined]
                grayscale=True,
                break_after_reviews=int(s.review_break_after_reviews),  # type: ignore[attr-defined]
                break_after_minutes=int(s.review_break_after_minutes),  # type: ignore[attr-defined]
            ).checked(),
        )


class ReviewService:
    """See the module docstring. ``analyst`` is the person's username everywhere."""

    def __init__(
        self,
        store: ReviewStore,
        events: EventSink,
        clock: Clock,
        config: QueueConfig | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.config = config or QueueConfig()

    def queues_for(self, senior: bool) -> tuple[Queue, ...]:
        return (Queue.SENIOR, Queue.MAIN) if senior else (Queue.MAIN,)

    def next(self, analyst: str, *, senior: bool = False) -> ReviewItem | None:
        now = self.clock.now()
        self.store.enqueue(now)
        return self.store.claim(
            analyst,
            self.queues_for(senior),
            now=now,
            until=now + self.config.claim_for,
            skipped_since=now - self.config.skip_for,
        )

    def held(self, analyst: str, sighting_id: int) -> ReviewItem:
        """The item, if ``analyst`` holds it now; Forbidden otherwise (never someone else's)."""
        item = self.store.get(sighting_id)
        if not item.held_by(analyst, self.clock.now()):
            raise Forbidden("you do not hold this review item (it expired or went to someone else)")
        return item

    def reveal(
        self, analyst: str, sighting_id: int, record: Callable[[ReviewItem], None]
    ) -> ReviewItem:
        """Record the reveal (``record`` first: it must not fail silently), then allow it."""
        item = self.held(analyst, sighting_id)
        record(item)
        if not self.store.mark_revealed(sighting_id, analyst, self.clock.now()):
            raise Forbidden("you do not hold this review item any more")
        self.events.emit(
            MediaRevealed(
                at=self.clock.now(), sighting_id=str(sighting_id), analyst=analyst, bank=item.bank
            )
        )
        return self.store.get(sighting_id)

    def decide(
        self,
        analyst: str,
        sighting_id: int,
        decision: Decision | str,
        *,
        category: str | None = None,
        note: str = "",
        allow_list: bool = False,
    ) -> ReviewItem:
        """Apply the holder's decision (module docstring, step 3); the item as it was."""
        try:
            decision = Decision(decision)
        except ValueError:
            raise InvalidInput(f"unknown decision {decision!r}", field="decision") from None
        item = self.held(analyst, sighting_id)
        now = self.clock.now()
        chosen = check_category(category or item.category) if decision is Decision.CONFIRM else None
        if decision is Decision.ESCALATE and item.queue is Queue.SENIOR:
            raise Conflict("this item is already with the senior analysts")
        allow = None
        if decision is Decision.NOT_A_MATCH and allow_list:
            allow = AllowEntry(
                id=0,
                sha256=item.sha256,
                pdq=item.pdq,
                bank=item.bank,
                entry_id=item.entry_id,
                sighting_id=item.sighting_id,
                added_by=analyst,
                added_at=now,
                reason=note[:2000],
            )
        self.store.decide(
            sighting_id, analyst, decision, now=now, category=chosen, note=note[:4000], allow=allow
        )
        self.events.emit(
            ReviewDecided(
                at=now,
                sighting_id=str(sighting_id),
                decision=decision.value,
                bank=item.bank,
                category=chosen or "",
                analyst=analyst,
                source=item.bank_source,
                entry_id=item.entry_id,
                distance=item.distance,
                match_type=item.match_type or "",
                allow_listed=allow is not None,
                signal_type=item.signal_type or "",
            )
        )
        return item

    # --- wellbeing -----------------------------------------------------------------------

    def prefs(self, analyst: str) -> Prefs:
        return self.store.get_prefs(analyst) or self.config.default_prefs

    def set_prefs(self, analyst: str, prefs: Prefs) -> Prefs:
        self.store.set_prefs(analyst, prefs.checked(), self.clock.now())
        return prefs
