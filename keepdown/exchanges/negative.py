"""Negative banks scoped to sources: hashes of benign pictures that silence named feeds only.

Platforms report third-party entries matching pictures they know to be benign (a meme, a
logo, a stock photo) and ask for an allow-list that applies to one source, not to every bank:
a picture allow-listed against StopNCII's list must still be found if it is in a hotline's
own bank. A **negative bank** is a bank of such hashes with a **scope**: the names of the
banks (feeds) it silences. :class:`NegativeStage`, a stage of the one match chain:

1. looks the input up among the negative banks' entries (SHA-256 exactly, PDQ within the
   negative bank's threshold, every rotation and mirror), in the same index snapshot every
   door uses;
2. drops the matches of banks in the scope of any negative bank the input matched;
3. never lets a negative bank's own entries through as matches (they are not known material).

A negative bank is kept disabled as a bank (``enabled`` false), so no matcher, with or
without this stage, ever reports its entries; its scope lives in ``negative_banks``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keepdown.hashing.types import PdqHash, Sha256
from keepdown.index.snapshot import IndexSnapshot

__all__ = ["NegativeBank", "NegativeStage", "NegativeStore", "scope_names"]


@dataclass(frozen=True)
class NegativeBank:
    """A bank of benign hashes and the banks it silences."""

    bank: str
    bank_id: int
    scope: tuple[str, ...]
    #: The bank's own PDQ threshold; None: the stage's default (the matcher's policy).
    pdq_threshold: int | None
    created_by: str
    created_at: datetime


class NegativeStore(Protocol):
    def negative_banks(self) -> list[NegativeBank]: ...


class NegativeStage:
    """The chain stage (module docstring); ``snapshot`` gives the index every door uses."""

    def __init__(
        self,
        store: NegativeStore,
        snapshot: Callable[[], IndexSnapshot],
        *,
        pdq_threshold: int = PdqHash.DEFAULT_THRESHOLD,
    ) -> None:
        self.store = store
        self.snapshot = snapshot
        #: The PDQ distance for a negative bank that sets none (``pdq_match_threshold``).
        self.pdq_threshold = pdq_threshold
        self._lock = threading.Lock()
        self._negative: Mapping[int, NegativeBank] = {}
        self._names: frozenset[str] = frozenset()
        self.refresh()

    def refresh(self) -> None:
        banks = {b.bank_id: b for b in self.store.negative_banks()}
        with self._lock:
            self._negative = banks
            self._names = frozenset(b.bank for b in banks.values())

    def silenced(self, query: Any) -> set[str]:
        """The banks whose matches of this input a negative bank silences."""
        negative = self._negative
        if not negative:
            return set()
        snapshot = self.snapshot()
        hit: set[int] = set()
        sha = getattr(query, "sha256", None)
        if sha:
            hit |= {
                h.bank_id
                for h in snapshot.query_exact(Sha256.from_hex(sha))
                if h.bank_id in negative
            }
        pdqs = list(getattr(query, "pdqs", ()) or ())
        if pdqs:
            limits = {i: self._limit(b) for i, b in negative.items()}
            variants = {str(i): v for i, v in enumerate(pdqs)}
            for h in snapshot.query_pdq(variants, max(limits.values())):
                if h.bank_id in limits and h.distance <= limits[h.bank_id]:
                    hit.add(h.bank_id)
        return {name for bank_id in hit for name in negative[bank_id].scope}

    def _limit(self, bank: NegativeBank) -> int:
        return self.pdq_threshold if bank.pdq_threshold is None else bank.pdq_threshold

    def apply(self, query: Any, matches: list[Any]) -> list[Any]:
        names = self._names
        kept = [m for m in matches if m.bank not in names]  # step 3
        if not kept or not self._negative:
            return kept
        silenced = self.silenced(query)
        return [m for m in kept if m.bank not in silenced]


def scope_names(scope: Iterable[str]) -> tuple[str, ...]:
    """A scope as stored: names, each once, in order."""
    return tuple(dict.fromkeys(s.strip() for s in scope if s.strip()))
