"""The self-submission stage of the match chain: the same rule at every door.

A self-submitted hash is one person's word about their own picture: enough to look, never
enough to act without a person. So for every door (:mod:`keepdown.matching.chain`):

1. a match in a self-submitted bank is marked ``review_only`` (reason ``self-submitted``),
   whatever trust the bank was given: the verdict is "review", never "confirmed";
2. a match in a bank of hashes the person did not let platforms use (the ``-hotline`` banks)
   is dropped for a platform's doors (an upload or a lookup by an organisation other than the
   operator's): the hotline sees it in its own crawls and scans, a platform never learns of it.

The stage reads the banks' sources once per index refresh (:meth:`SelfSubmittedStage.refresh`),
never per match.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any

from keepdown.matching.chain import MatchQuery
from keepdown.matching.views import MatchView
from keepdown.submissions.model import is_self_submitted, platforms_may_use

__all__ = ["PLATFORM_DOORS", "SelfSubmittedStage"]

#: The doors through which a platform (not the operator) asks.
PLATFORM_DOORS = frozenset({"upload", "lookup"})

REASON = "self-submitted"


class SelfSubmittedStage:
    """See the module docstring. ``load_banks`` lists the banks (their names and sources);
    ``operator`` is the operator organisation's name."""

    def __init__(self, load_banks: Callable[[], Iterable[Any]], operator: str) -> None:
        self.load_banks = load_banks
        self.operator = operator
        self._self_submitted: frozenset[str] = frozenset()
        self._hotline_only: frozenset[str] = frozenset()
        self._loaded = False
        self._lock = threading.Lock()

    def refresh(self) -> None:
        banks = list(self.load_banks())
        mine = frozenset(b.name for b in banks if is_self_submitted(b))
        private = frozenset(
            b.name for b in banks if is_self_submitted(b) and not platforms_may_use(b)
        )
        with self._lock:
            self._self_submitted, self._hotline_only, self._loaded = mine, private, True

    def is_self_submitted(self, bank: str) -> bool:
        """True for a self-submitted bank's name (as of the last refresh)."""
        if not self._loaded:
            self.refresh()
        return bank in self._self_submitted

    def apply(self, query: MatchQuery, matches: list[MatchView]) -> list[MatchView]:
        if not self._loaded:
            self.refresh()
        mine, private = self._self_submitted, self._hotline_only
        platform = query.door in PLATFORM_DOORS and query.organisation != self.operator
        out: list[MatchView] = []
        for match in matches:
            if match.bank not in mine:
                out.append(match)
            elif platform and match.bank in private:
                continue
            else:
                out.append(
                    match
                    if match.review_only
                    else dataclasses.replace(match, review_only=True, review_why=REASON)
                )
        return out
