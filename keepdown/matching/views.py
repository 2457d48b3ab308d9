"""A match as every door shows it, and the rules every door applies to matches.

- :class:`MatchView`: one bank entry an input matched, and how (never the entry's value);
- :func:`is_confirmed`: the one "may act without review" rule: an exact match in a trusted
  bank that no policy sent to review;
- :func:`best_match`: the one ranking (confirmed first, then exact, then the nearest), which
  the crawler's sightings and the scan journal both show;
- :func:`verdict_of`: what a list of matches calls for (confirmed / review / no match).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from keepdown.matching.matcher import Verdict

__all__ = ["MatchLike", "MatchView", "best_match", "is_confirmed", "verdict_of"]

M = TypeVar("M", bound="MatchLike")


class MatchLike(Protocol):
    """What the rules read of a match (a :class:`MatchView`, a stored sighting's match)."""

    @property
    def entry_id(self) -> int: ...

    @property
    def distance(self) -> int: ...

    @property
    def match_type(self) -> str: ...

    @property
    def trusted(self) -> bool: ...


@dataclass(frozen=True)
class MatchView:
    """One bank entry an input matched, as callers show it: how, never the entry's value.

    ``review_only`` is set by a stage of the match chain (:mod:`keepdown.matching.chain`)
    that lets the match through but not as a reason to act without a person (``review_why``
    says which policy and why)."""

    bank: str
    entry_id: int
    signal_type: str
    distance: int
    variant: str | None
    #: "exact" (a cryptographic hash), "near" (PDQ, even at distance 0) or "near (robust)"
    #: (PDQ through a robust query variant, named in ``variant``: review only)
    match_type: str
    classification: str | None  # keepdown's category of the bank ("csam", ...)
    trusted: bool
    review_only: bool = False
    review_why: str | None = None

    @property
    def confirmed(self) -> bool:
        """True when the match may act without review (:func:`is_confirmed`)."""
        return is_confirmed(self)


def is_confirmed(match: MatchLike) -> bool:
    """Exact, in a trusted bank, and not sent to review by any policy."""
    return (
        match.match_type == "exact" and match.trusted and not getattr(match, "review_only", False)
    )


def best_match(matches: Iterable[M]) -> M | None:
    """Confirmed first, then exact, then the nearest (ties: the older entry)."""
    return min(
        matches,
        key=lambda m: (not is_confirmed(m), m.match_type != "exact", m.distance, m.entry_id),
        default=None,
    )


def verdict_of(matches: Iterable[MatchLike]) -> Verdict:
    """CONFIRMED when any match may act alone, REVIEW for any other match, else NO_MATCH."""
    found = list(matches)
    if any(is_confirmed(m) for m in found):
        return Verdict.CONFIRMED
    return Verdict.REVIEW if found else Verdict.NO_MATCH
