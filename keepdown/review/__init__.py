"""The review queue: near matches and untrusted-bank matches wait here for an analyst.

- :mod:`~keepdown.review.model`: items, decisions, wellbeing prefs, the store protocol;
- :mod:`~keepdown.review.queue`: :class:`ReviewService` (enqueue, claim, reveal, decide);
- :mod:`~keepdown.review.allowlist`: candidates said not to match never come back;
- :mod:`~keepdown.review.wellbeing`: when to suggest a break.

Storage is ``keepdown.storage.review_store``; the pages are ``keepdown.web``.
"""

from keepdown.review.allowlist import AllowListFilter
from keepdown.review.model import AllowEntry, Decision, Prefs, Queue, ReviewItem, ReviewStore
from keepdown.review.queue import QueueConfig, ReviewService
from keepdown.review.wellbeing import BreakReminder, break_due

__all__ = [
    "AllowEntry",
    "AllowListFilter",
    "BreakReminder",
    "Decision",
    "Prefs",
    "Queue",
    "QueueConfig",
    "ReviewItem",
    "ReviewService",
    "ReviewStore",
    "break_due",
]
