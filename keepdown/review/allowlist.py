"""The allow-list: candidates an analyst said are *not* a bank entry's material stay away.

When an analyst decides "not a match" and ticks "allow-list", the candidate's SHA-256 and PDQ
are kept with the entry it was wrongly matched to. From then on a match of that entry is
dropped when the input

- has the same SHA-256 as an allow-listed candidate (the same file), or
- has a PDQ (any of its dihedral variants) within ``pdq_distance`` of the candidate's and
  strictly nearer to the candidate than to the entry (a re-encoding of the benign picture,
  not a copy of the material: a copy of the material is nearer to the entry).

The allow-list is scoped to the entry: the same candidate still surfaces for any other entry,
so an analyst's judgement about one pair never hides a different match.

:class:`AllowListFilter` is a stage of the one match chain (:mod:`keepdown.matching.chain`),
so every door drops the same pairs; the allow-list is re-read from the store with the index's
refresh, and at most ``refresh_seconds`` apart otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from keepdown.clock import Clock, SystemClock
from keepdown.hashing.types import PdqHash
from keepdown.matching.chain import MatchQuery
from keepdown.matching.views import MatchView
from keepdown.review.model import AllowEntry

__all__ = ["AllowListFilter"]


def _pdq(value: str | None) -> PdqHash | None:
    if not value:
        return None
    try:
        return PdqHash.from_hex(value)  # type: ignore[return-value]
    except ValueError:
        return None


class AllowListFilter:
    """Drops allow-listed matches (module docstring)."""

    def __init__(
        self,
        load: Callable[[], list[AllowEntry]],
        *,
        pdq_distance: int = 8,
        refresh_seconds: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.load = load
        self.pdq_distance = pdq_distance
        self.refresh_seconds = refresh_seconds
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._by_entry: dict[int | None, list[tuple[str, PdqHash | None]]] = {}

    def refresh(self) -> None:
        by_entry: dict[int | None, list[tuple[str, PdqHash | None]]] = {}
        for entry in self.load():
            by_entry.setdefault(entry.entry_id, []).append((entry.sha256, _pdq(entry.pdq)))
        with self._lock:
            self._by_entry = by_entry
            self._loaded_at = self.clock.monotonic()

    def _current(self) -> dict[int | None, list[tuple[str, PdqHash | None]]]:
        loaded = self._loaded_at
        if loaded is None or self.clock.monotonic() - loaded >= self.refresh_seconds:
            self.refresh()
        return self._by_entry

    def drops(self, sha256: str | None, pdqs: Sequence[PdqHash], match: MatchView) -> bool:
        """True when ``match`` (a MatchView) of an input with these hashes is allow-listed."""
        listed = self._current()
        candidates = [*listed.get(match.entry_id, ()), *listed.get(None, ())]
        for listed_sha, listed_pdq in candidates:
            if sha256 and sha256 == listed_sha:
                return True
            if listed_pdq is None:
                continue
            for pdq in pdqs:
                near = pdq - listed_pdq
                if near <= self.pdq_distance and (near < match.distance or near == 0):
                    return True
        return False

    def apply(self, query: MatchQuery, matches: list[MatchView]) -> list[MatchView]:
        """The match chain's stage: ``matches`` without the allow-listed ones."""
        if not self._current():
            return matches
        return [m for m in matches if not self.drops(query.sha256, query.pdqs, m)]
