"""Quarantine: an entry that suddenly matches far more than usual stops acting on its own.

A third-party entry that matches benign pictures (a test card, a meme, a default avatar that
ended up in a list) shows as a burst: hundreds of matches in an hour where it usually had
none. :class:`QuarantineStage` is a stage of the one match chain (``keepdown.matching.chain``):

1. it counts the matches of every entry of a bank under quarantine watch (feeds, unless a
   feed turns it off) in buckets of ``bucket_seconds``: in memory at once, in the database
   (``match_counts``) at each refresh, so every process's matches add up;
2. when an entry's matches in the last ``window_seconds`` reach its threshold,
   ``max(min_matches, factor x baseline)`` (the baseline: its matches per window over the last
   ``baseline_days``), it is quarantined: a ``quarantines`` row saying why (the count, the
   baseline, the threshold) and an :class:`~keepdown.events.EntryQuarantined` event;
3. from then on its matches are still reported but ``review_only``, with ``review_why``
   giving the numbers: they stop producing blocks and go to review, where an analyst sees why;
4. an analyst lifts the quarantine (its earlier matches are then forgotten: it needs a new
   burst to be quarantined again) or removes the entry as a false positive
   (:class:`~keepdown.events.QuarantineLifted`).

The counting in step 1 costs a dictionary update per match; a refresh writes one row per
entry and bucket that had matches.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from keepdown.clock import Clock
from keepdown.events import EntryQuarantined, EventSink

__all__ = ["Quarantine", "QuarantinePolicy", "QuarantineStage", "QuarantineStore"]


@dataclass(frozen=True)
class QuarantinePolicy:
    """When an entry's matches are a burst (module docstring, step 2)."""

    window_seconds: int = 3600
    factor: float = 20.0
    min_matches: int = 50
    baseline_days: float = 7.0
    bucket_seconds: int = 60

    def threshold(self, baseline: float) -> int:
        return max(self.min_matches, math.ceil(self.factor * baseline))

    def bucket(self, moment: datetime) -> int:
        return int(moment.timestamp()) // self.bucket_seconds

    @property
    def window_buckets(self) -> int:
        return max(1, self.window_seconds // self.bucket_seconds)

    @property
    def baseline_windows(self) -> float:
        return self.baseline_days * 86400 / self.window_seconds


@dataclass(frozen=True)
class Quarantine:
    """One quarantine of one entry, and why."""

    id: int
    entry_id: int
    bank: str
    signal_type: str
    state: str  # active, lifted, removed
    matches: int
    baseline: float
    threshold: int
    window_seconds: int
    quarantined_at: datetime
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    note: str = ""

    @property
    def why(self) -> str:
        hours = self.window_seconds / 3600
        span = f"{hours:g} h" if hours >= 1 else f"{self.window_seconds // 60} min"
        return (
            f"quarantined: {self.matches} matches in {span}, usually {self.baseline:.1f} "
            f"(threshold {self.threshold})"
        )


class QuarantineStore(Protocol):
    """Counts and quarantines (``keepdown.storage.quarantine_store``)."""

    def add_counts(self, counts: Mapping[tuple[int, int], int]) -> None:
        """Add (entry id, bucket) -> matches to the stored counts."""
        ...

    def window_counts(self, since_bucket: int) -> dict[int, int]:
        """Matches per entry in buckets from ``since_bucket`` on (entries that had any)."""
        ...

    def count_between(self, entry_id: int, first_bucket: int, last_bucket: int) -> int: ...

    def open(self, entry_id: int, matches: int, baseline: float, threshold: int,
             window_seconds: int, now: datetime) -> Quarantine | None:  # fmt: skip
        """Quarantine the entry unless an active quarantine exists (None then)."""
        ...

    def active(self) -> dict[int, Quarantine]: ...

    def last_lifts(self) -> dict[int, datetime]:
        """When each entry's last quarantine was lifted (its older matches do not count)."""
        ...


class QuarantineStage:
    """The chain stage (module docstring). ``watched`` gives the bank ids under watch."""

    def __init__(
        self,
        store: QuarantineStore,
        events: EventSink,
        clock: Clock,
        policy: QuarantinePolicy,
        watched: Callable[[], Mapping[str, str]],
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.policy = policy
        self.watched = watched  # bank name -> its source (for the event)
        self._lock = threading.Lock()
        self._pending: Counter[tuple[int, int]] = Counter()
        self._pending_entry: Counter[int] = Counter()
        self._stored: dict[int, int] = {}  # entry -> matches in the window, as stored
        self._active: dict[int, Quarantine] = {}
        self._lifts: dict[int, int] = {}  # entry -> first bucket that counts
        self._banks: Mapping[str, str] = {}
        self.refresh()

    # --- the chain ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Write this process's counts, read everyone's, and the quarantines (module step 1)."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._pending_entry = Counter()
        if pending:
            self.store.add_counts(pending)
        now = self.policy.bucket(self.clock.now())
        since = now - self.policy.window_buckets + 1
        stored = self.store.window_counts(since)
        active = self.store.active()
        lifts = {e: self.policy.bucket(at) + 1 for e, at in self.store.last_lifts().items()}
        for entry, first in lifts.items():  # matches before a lift do not count
            if entry in stored and first > since:
                stored[entry] = self.store.count_between(entry, first, now)
        with self._lock:
            self._stored, self._active, self._lifts = stored, active, lifts
            self._banks = dict(self.watched())

    def apply(self, query: Any, matches: list[Any]) -> list[Any]:
        """Count the matches of watched banks; mark those of quarantined entries review-only."""
        bucket = self.policy.bucket(self.clock.now())
        out = []
        for match in matches:
            if match.bank in self._banks:
                self._count(match, bucket)
            held = self._active.get(match.entry_id)
            if held is not None:
                match = replace(match, review_only=True, review_why=held.why)
            out.append(match)
        return out

    def _count(self, match: Any, bucket: int) -> None:
        entry = match.entry_id
        if entry in self._active:
            return
        with self._lock:
            self._pending[(entry, bucket)] += 1
            self._pending_entry[entry] += 1  # since the last refresh: seconds, in the window
            seen = self._stored.get(entry, 0) + self._pending_entry[entry]
        if seen >= self.policy.min_matches:
            self._decide(match, seen, bucket)

    def _decide(self, match: Any, seen: int, bucket: int) -> None:
        """The threshold against the entry's baseline; quarantine when reached (step 2)."""
        windows = self.policy.window_buckets
        first = bucket - int(self.policy.baseline_windows * windows)
        first = max(first, self._lifts.get(match.entry_id, first))
        before = self.store.count_between(match.entry_id, first, bucket - windows)
        baseline = before / max(self.policy.baseline_windows, 1.0)
        threshold = self.policy.threshold(baseline)
        if seen < threshold:
            return
        now = self.clock.now()
        made = self.store.open(
            match.entry_id, seen, baseline, threshold, self.policy.window_seconds, now
        )
        if made is None:
            return
        with self._lock:
            self._active[match.entry_id] = made
        self.events.emit(
            EntryQuarantined(
                at=now,
                bank=match.bank,
                entry_id=match.entry_id,
                signal_type=match.signal_type,
                matches=seen,
                baseline=round(baseline, 3),
                threshold=threshold,
                window_seconds=self.policy.window_seconds,
                source=self._banks.get(match.bank, ""),
            )
        )

    def quarantined(self) -> Iterable[Quarantine]:
        return list(self._active.values())
