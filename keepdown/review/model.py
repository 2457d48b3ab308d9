"""The review queue's values and the store protocol they live in.

A :class:`ReviewItem` is one ``pending_review`` sighting as an analyst sees it: where the media
was, which bank entry it matched and how (distance, dihedral variant), the entry's
provenance and classification, and the queue's own state (who holds it until when, whether
it was revealed, whether it was escalated). A :class:`Decision` is what the analyst did.

:class:`ReviewStore` is implemented by ``keepdown.storage.review_store.SqlReviewStore``. Its
:meth:`~ReviewStore.claim` and :meth:`~ReviewStore.decide` are conditional writes: an item is
held by one analyst at a time, and only its holder can decide it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.banks.classification import Category
from keepdown.errors import InvalidInput

__all__ = [
    "AllowEntry",
    "Decision",
    "Prefs",
    "Queue",
    "ReviewItem",
    "ReviewStore",
    "SightingFilter",
]


class Decision(StrEnum):
    CONFIRM = "confirm"  # it is the bank entry's material: the sighting is confirmed
    NOT_A_MATCH = "not_a_match"  # a false positive of the bank (counted)
    ESCALATE = "escalate"  # a senior analyst decides
    SKIP = "skip"  # someone else decides


class Queue(StrEnum):
    MAIN = "main"
    SENIOR = "senior"


@dataclass(frozen=True)
class ReviewItem:
    """One item of the queue (module docstring). ``category`` is the entry's (or its bank's)."""

    sighting_id: int
    media_url: str
    page_url: str
    final_url: str
    seen_at: datetime
    sha256: str
    pdq: str | None
    quality: int | None
    content_type: str
    size: int
    bank: str
    entry_id: int | None
    signal_type: str | None
    distance: int | None
    variant: str | None
    match_type: str | None
    state: str
    provider: str | None = None
    country: str = ""
    bank_source: str = ""
    bank_trust: str = ""
    source_label: str | None = None
    category: str | None = None
    maturity: str | None = None
    entry_source_id: str | None = None
    entry_added_at: datetime | None = None
    queue: Queue = Queue.MAIN
    claimed_by: str | None = None
    claim_expires: datetime | None = None
    revealed_at: datetime | None = None
    escalated_by: str | None = None
    escalated_at: datetime | None = None
    escalation_note: str = ""
    decision: Decision | None = None

    def held_by(self, analyst: str, now: datetime) -> bool:
        return (
            self.claimed_by == analyst
            and self.claim_expires is not None
            and now < self.claim_expires
            and self.decision is None
        )


@dataclass(frozen=True)
class AllowEntry:
    """A candidate said not to be a bank entry's material (``entry_id`` None: any entry)."""

    id: int
    sha256: str
    pdq: str | None
    bank: str | None
    entry_id: int | None
    sighting_id: int | None
    added_by: str
    added_at: datetime
    reason: str = ""


#: Limits of the wellbeing settings an analyst may choose.
BLUR_RANGE = (2, 40)
REVIEWS_RANGE = (0, 1000)  # 0: no reminder by count
MINUTES_RANGE = (0, 480)  # 0: no reminder by time


@dataclass(frozen=True)
class Prefs:
    """One analyst's wellbeing settings: how media is shown and when to suggest a break."""

    blur: int = 12
    grayscale: bool = True
    break_after_reviews: int = 40
    break_after_minutes: int = 45

    def checked(self) -> Prefs:
        """These prefs, or InvalidInput naming the value out of range."""
        for name, value, (low, high) in (
            ("blur", self.blur, BLUR_RANGE),
            ("break_after_reviews", self.break_after_reviews, REVIEWS_RANGE),
            ("break_after_minutes", self.break_after_minutes, MINUTES_RANGE),
        ):
            if not low <= int(value) <= high:
                raise InvalidInput(f"{name} must be between {low} and {high}", field=name)
        return self


def check_category(value: str | None) -> str:
    """A keepdown category (``csam``, ``harmful-abusive``, ``other``), or InvalidInput."""
    try:
        return Category(value or "").value
    except ValueError:
        allowed = ", ".join(c.value for c in Category)
        raise InvalidInput(
            f"a confirmed item needs a category: {allowed}", field="category"
        ) from None


@dataclass(frozen=True)
class SightingFilter:
    """What the sightings page filters on (empty: any)."""

    bank: str = ""
    provider: str = ""
    state: str = ""
    since: datetime | None = None
    until: datetime | None = None
    provider_ids: tuple[int, ...] | None = None  # a provider's own people see only theirs


class ReviewStore(Protocol):
    """Where the queue lives (module docstring)."""

    def enqueue(self, now: datetime) -> int:
        """Give every ``pending_review`` sighting without one a queue row; how many were new."""
        ...

    def claim(
        self,
        analyst: str,
        queues: tuple[Queue, ...],
        *,
        now: datetime,
        until: datetime,
        skipped_since: datetime,
    ) -> ReviewItem | None:
        """The item ``analyst`` holds, else the oldest free one of ``queues`` (in order),
        claimed until ``until``; items the analyst skipped after ``skipped_since`` are left."""
        ...

    def get(self, sighting_id: int) -> ReviewItem: ...

    def mark_revealed(self, sighting_id: int, analyst: str, now: datetime) -> bool:
        """Record that the holder revealed the media; False unless ``analyst`` holds it."""
        ...

    def decide(
        self,
        sighting_id: int,
        analyst: str,
        decision: Decision,
        *,
        now: datetime,
        category: str | None = None,
        note: str = "",
        allow: AllowEntry | None = None,
    ) -> ReviewItem:
        """Apply a decision of the item's holder in one transaction (Conflict otherwise)."""
        ...

    def waiting(self, now: datetime) -> dict[str, int]:
        """Items not decided per queue (held ones included)."""
        ...

    def decided_since(self, analyst: str, since: datetime) -> int:
        """Decisions (skips included) ``analyst`` took since ``since``."""
        ...

    def decisions(self, sighting_id: int) -> list[dict[str, Any]]:
        """Every decision taken on one sighting, oldest first."""
        ...

    def list_sightings(
        self, where: SightingFilter, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[ReviewItem], int]:
        """One page of sightings, newest first, and how many match in all."""
        ...

    def sighting_facets(self) -> dict[str, list[str]]:
        """The banks and providers sightings name (for the filter's choices)."""
        ...

    def allow_entries(self) -> list[AllowEntry]: ...

    def remove_allow_entry(self, entry_id: int) -> None: ...

    def get_prefs(self, analyst: str) -> Prefs | None: ...

    def set_prefs(self, analyst: str, prefs: Prefs, now: datetime) -> None: ...
