"""The bank-fed match index every matcher in a process shares, kept current without a restart.

:class:`BankIndex` joins the pieces below it: the index package's :class:`LiveIndex` (immutable
snapshots swapped atomically, deltas on top of a large main part), the pure
:func:`~keepdown.matching.matcher.match_hashes`, and a :class:`BankFeed` (the database's view
of the banks, ``keepdown.storage.index_feed.IndexFeed``). The API, the crawler, scans and the
``keepdown match`` command all match through it, so they all agree.

:meth:`BankIndex.refresh`:

1. read the feed's change mark; if it has not moved, stop;
2. first load, a restored tombstone (it keeps its id) or ids going backwards: read every active
   entry into a fresh snapshot (PDQ and exact rows straight into arrays, no per-entry objects);
3. otherwise apply a delta: entries with an id above the last one seen are added, entries
   removed since the last removal seen are removed; the banks' settings (enabled, thresholds,
   classification) are re-read on every change, they are few;
4. when the added rows pass ``compact_after``, fold them into a new main part.

Readers never wait: they read the current snapshot and bank table once per query.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from keepdown.banks.model import Bank
from keepdown.hashing.types import HashValue, PdqHash, SignalType, hash_type
from keepdown.index.exact import ExactIndex
from keepdown.index.protocol import MAX_PDQ_THRESHOLD, pdq_words
from keepdown.index.rows import PdqRows
from keepdown.index.snapshot import EXACT_SIGNALS, IndexEntry, IndexSnapshot, LiveIndex
from keepdown.matching.matcher import ContentHashes, Match, match_hashes

__all__ = ["BankFeed", "BankIndex", "MatchView"]

log = logging.getLogger("keepdown.matching.live")

#: (entry id, bank id, signal type, hex value), as the feed yields them.
EntryRow = tuple[int, int, str, str]


class BankFeed(Protocol):
    """What the index reads from the banks (``keepdown.storage.index_feed.IndexFeed``)."""

    def mark(self) -> Any: ...

    def active_after(self, after_id: int, up_to_id: int) -> Iterator[EntryRow]: ...

    def removed_since(self, since: datetime | None) -> list[int]: ...


@dataclass(frozen=True)
class MatchView:
    """One bank entry an input matched, as callers show it: how, never the entry's value."""

    bank: str
    entry_id: int
    signal_type: str
    distance: int
    variant: str | None
    match_type: str  # "exact" (a cryptographic hash) or "near" (PDQ, even at distance 0)
    classification: str | None  # keepdown's category of the bank ("csam", ...)
    trusted: bool


@dataclass(frozen=True)
class _State:
    """What a query reads, swapped as one object."""

    banks: Mapping[int, Bank]
    mark: Any
    counts: Mapping[str, int]  # entries per signal type, counted at refresh (not per request)


class BankIndex:
    """Matches content and hashes against every enabled bank; see the module steps."""

    def __init__(
        self,
        feed: BankFeed,
        load_banks: Callable[[], Iterable[Bank]],
        *,
        quality_floor: int = PdqHash.QUALITY_FLOOR,
        compact_after: int = 50_000,
    ) -> None:
        self.feed = feed
        self.load_banks = load_banks
        self.quality_floor = quality_floor
        self.compact_after = compact_after
        self.live = LiveIndex()
        self._state = _State(banks={}, mark=None, counts={})
        self._added_since_compaction = 0
        self._lock = threading.Lock()  # one refresh at a time; readers never wait
        self.refreshed_at: datetime | None = None

    # --- matching --------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._state.mark is not None

    @property
    def snapshot(self) -> IndexSnapshot:
        return self.live.snapshot

    def match_result(self, result: Any) -> list[MatchView]:
        """Matches of one hashed input (a ``HashResult``): exact hashes, then PDQ variants."""
        return self.match_content(ContentHashes.from_result(result))

    def match_content(self, hashes: ContentHashes) -> list[MatchView]:
        state, snapshot = self._state, self.live.snapshot
        found = match_hashes(hashes, snapshot, state.banks, quality_floor=self.quality_floor)
        return [_view(state.banks[m.bank_id], m) for m in found]

    def match_hashes(self, values: Sequence[HashValue]) -> list[list[MatchView]]:
        """Matches of each bare hash, in order (PDQ queried as one batch)."""
        state, snapshot = self._state, self.live.snapshot
        out: list[list[MatchView]] = [[] for _ in values]
        pdq_rows = [i for i, v in enumerate(values) if isinstance(v, PdqHash)]
        for i, value in enumerate(values):
            if value.signal_type in EXACT_SIGNALS:
                out[i] = self.match_content(ContentHashes(**{str(value.signal_type): value}))
        if pdq_rows:
            for row, view in self._pdq_batch(state, snapshot, [values[i] for i in pdq_rows]):
                out[pdq_rows[row]].append(view)
        for views in out:
            views.sort(key=lambda v: (v.match_type != "exact", v.distance, v.entry_id))
        return out

    def _pdq_batch(
        self, state: _State, snapshot: IndexSnapshot, hashes: list[HashValue]
    ) -> Iterator[tuple[int, MatchView]]:
        limits = {
            bank_id: b.threshold(SignalType.PDQ)
            for bank_id, b in state.banks.items()
            if b.enabled and b.threshold(SignalType.PDQ) >= 0
        }
        if not limits:
            return
        raw = np.frombuffer(b"".join(h.raw for h in hashes), np.uint8).reshape(-1, 32)
        threshold = min(max(limits.values()), MAX_PDQ_THRESHOLD)
        pairs = snapshot.search_pdq(pdq_words(raw), threshold)
        for row, entry_id, bank_id, distance in zip(
            pairs.query_row.tolist(),
            pairs.entry_id.tolist(),
            pairs.bank_id.tolist(),
            pairs.distance.tolist(),
            strict=True,
        ):
            if bank_id in limits and distance <= limits[bank_id]:
                match = Match(entry_id, bank_id, SignalType.PDQ, distance, None, "near")
                yield row, _view(state.banks[bank_id], match)

    def status(self) -> dict[str, Any]:
        mark = self._state.mark
        return {
            "entries": dict(self._state.counts),
            "max_entry_id": getattr(mark, "max_entry_id", 0),
            "version": self.live.snapshot.version,
            "refreshed_at": self.refreshed_at.isoformat() if self.refreshed_at else None,
        }

    # --- refresh ---------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Apply whatever changed in the banks since the last call; True if anything did."""
        with self._lock:
            mark = self.feed.mark()
            previous = self._state.mark
            if previous is not None and mark == previous:
                return False
            full = (
                previous is None
                or mark.restored != previous.restored
                or mark.max_entry_id < previous.max_entry_id
            )
            if full:
                self._load_everything(mark)
            else:
                self._apply_delta(previous, mark)
            banks = {b.id: b for b in self.load_banks()}
            counts = {str(k): v for k, v in self.live.snapshot.counts().items()}
            self._state = _State(banks=banks, mark=mark, counts=counts)
            self.refreshed_at = datetime.now().astimezone()
            log.info("match index refreshed (%s): %s", "full" if full else "delta", self.status())
            return True

    def _load_everything(self, mark: Any) -> None:
        pdq, exact = _arrays(self.feed.active_after(0, mark.max_entry_id))  # active only
        self.live.replace(IndexSnapshot.from_parts(pdq, exact))
        self._added_since_compaction = 0

    def _apply_delta(self, previous: Any, mark: Any) -> None:
        added = [
            IndexEntry(entry_id, bank_id, hash_type(signal)(bytes.fromhex(value)))
            for entry_id, bank_id, signal, value in self.feed.active_after(
                previous.max_entry_id, mark.max_entry_id
            )
            if signal in _INDEXED
        ]
        removed: list[int] = []
        if mark.last_removed_at != previous.last_removed_at:
            removed = self.feed.removed_since(previous.last_removed_at)
        if added or removed:
            self.live.apply(added, removed)
        self._added_since_compaction += len(added)
        if self._added_since_compaction > self.compact_after:
            self.live.compact()
            self._added_since_compaction = 0


_INDEXED = {str(SignalType.PDQ), *(str(s) for s in EXACT_SIGNALS)}


def _arrays(rows: Iterable[EntryRow]) -> tuple[PdqRows, dict[SignalType, ExactIndex]]:
    """Index parts straight from feed rows: hex to bytes, no hash objects (10M rows load fast)."""
    raw: dict[str, list[bytes]] = {s: [] for s in _INDEXED}
    ids: dict[str, list[int]] = {s: [] for s in _INDEXED}
    banks: dict[str, list[int]] = {s: [] for s in _INDEXED}
    for entry_id, bank_id, signal, value in rows:
        if signal in raw:
            raw[signal].append(bytes.fromhex(value))
            ids[signal].append(entry_id)
            banks[signal].append(bank_id)

    def table(signal: SignalType) -> np.ndarray:
        width = hash_type(signal).n_bytes
        return np.frombuffer(b"".join(raw[str(signal)]), np.uint8).reshape(-1, width)

    p = str(SignalType.PDQ)
    pdq = PdqRows.from_arrays(table(SignalType.PDQ), ids[p], banks[p]) if raw[p] else None
    exact = {
        s: ExactIndex.build(s, table(s), ids[str(s)], banks[str(s)])
        for s in EXACT_SIGNALS
        if raw[str(s)]
    }
    return pdq or PdqRows.empty(), exact


def _view(bank: Bank, match: Match) -> MatchView:
    label = bank.classification.category.value if bank.classification else None
    return MatchView(
        bank=bank.name,
        entry_id=match.entry_id,
        signal_type=str(match.signal_type),
        distance=match.distance,
        variant=match.variant,
        match_type=match.match_type,
        classification=label,
        trusted=bank.trusted,
    )
