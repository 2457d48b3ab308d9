"""When to suggest a break: after N reviews or M minutes since the last one.

Pure: the caller gives the analyst's :class:`~keepdown.review.model.Prefs`, how many items
they decided since their last break and when that break ended; :func:`break_due` says
whether to show the reminder and why. The page shows it; nothing is ever blocked by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from keepdown.review.model import Prefs

__all__ = ["BreakReminder", "break_due"]


@dataclass(frozen=True)
class BreakReminder:
    due: bool
    reviews: int  # decided since the last break
    minutes: int  # since the last break
    by_reviews: bool = False
    by_minutes: bool = False


def break_due(prefs: Prefs, *, reviews: int, since: datetime, now: datetime) -> BreakReminder:
    minutes = max(0, int((now - since) / timedelta(minutes=1)))
    by_reviews = prefs.break_after_reviews > 0 and reviews >= prefs.break_after_reviews
    by_minutes = prefs.break_after_minutes > 0 and minutes >= prefs.break_after_minutes
    return BreakReminder(
        due=by_reviews or by_minutes,
        reviews=reviews,
        minutes=minutes,
        by_reviews=by_reviews,
        by_minutes=by_minutes,
    )
