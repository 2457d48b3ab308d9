"""The live match index the API serves from, kept current as banks change (no restart).

State is one immutable :class:`_Snapshot` swapped atomically, so a request reads a consistent
index without locks while :meth:`LiveIndex.refresh` builds the next one:

1. read the feed's change mark; if it has not moved, stop;
2. a moved restored-count (a tombstone brought back) or the first load: read every active
   entry and build a fresh snapshot;
3. otherwise apply a delta: entries with an id above the last one seen go into a small
   delta (PDQ: a brute-force index beside the big multi-index-hashing one, rebuilt into it
   when it grows past ``max_delta``); entries removed since the last removal seen go into a
   removed-id set that filters hits; bank settings (enabled, thresholds, classification) are
   re-read on every change, they are few.

Matching: exact signals (md5, sha1, sha256) by dictionary; PDQ within each bank's threshold,
over the 8 rotations and mirrors when the input carries them, skipping hashes below the
quality floor (the reference's advice: they match noise).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from keepdown.api.context import MatchView
from keepdown.banks.model import Bank
from keepdown.hashing import HashResult
from keepdown.hashing.types import HashValue, PdqHash, SignalType
from keepdown.index.linear import LinearPdqIndex
from keepdown.index.mih import MihPdqIndex
from keepdown.index.protocol import MAX_PDQ_THRESHOLD, pdq_words
from keepdown.index.rows import PdqRows

__all__ = ["ChangeFeed", "LiveIndex"]

log = logging.getLogger("keepdown.index.live")

_EXACT = (SignalType.MD5, SignalType.SHA1, SignalType.SHA256)


class ChangeFeed(Protocol):
    """What the live index reads (``keepdown.storage.index_feed.IndexFeed``)."""

    def mark(self) -> Any: ...

    def active_after(self, after_id: int, up_to_id: int) -> Iterator[tuple[int, int, str, str]]: ...

    def removed_since(self, since: datetime | None) -> list[int]: ...


@dataclass(frozen=True)
class _Snapshot:
    base: MihPdqIndex
    delta: LinearPdqIndex
    exact: dict[tuple[str, bytes], tuple[tuple[int, int], ...]]
    removed: frozenset[int]
    banks: dict[int, Bank]
    max_entry_id: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pdq_threshold(self) -> int:
        enabled = [b.threshold("pdq") for b in self.banks.values() if b.enabled]
        return min(max(enabled, default=0), MAX_PDQ_THRESHOLD)


def _empty() -> _Snapshot:
    rows = PdqRows.empty()
    return _Snapshot(MihPdqIndex.build(rows), LinearPdqIndex(rows), {}, frozenset(), {}, 0)


class LiveIndex:
    """Implements :class:`keepdown.api.context.Matcher` over a :class:`ChangeFeed`."""

    def __init__(
        self,
        feed: ChangeFeed,
        load_banks: Callable[[], Iterable[Bank]],
        *,
        quality_floor: int = 50,
        max_delta: int = 50_000,
    ) -> None:
        self.feed = feed
        self.load_banks = load_banks
        self.quality_floor = quality_floor
        self.max_delta = max_delta
        self._snap = _empty()
        self._mark: Any = None
        self._loaded = False
        self._lock = threading.Lock()  # one refresh at a time; readers never wait
        self.refreshed_at: float | None = None

    # --- Matcher protocol ------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._loaded

    def status(self) -> dict[str, Any]:
        snap = self._snap
        return {
            "entries": dict(snap.counts),
            "max_entry_id": snap.max_entry_id,
            "removed_filtered": len(snap.removed),
            "delta": len(snap.delta),
        }

    def match_result(self, result: HashResult) -> list[MatchView]:
        snap = self._snap
        views = []
        for value in (result.md5, result.sha1, result.sha256):
            views.extend(self._exact(snap, value))
        if result.pdq is not None and (result.quality or 0) >= self.quality_floor:
            variants = (
                {name: r.hash for name, r in result.dihedral.items()}
                if result.dihedral
                else {"original": result.pdq}
            )
            words = pdq_words(
                np.frombuffer(b"".join(h.raw for h in variants.values()), np.uint8).reshape(-1, 32)
            )
            names = tuple(variants)
            per_query = self._pdq(snap, words)
            views.extend(_best_per_entry(v._replace_variant(names) for v in per_query))
        return views

    def match_hashes(self, hashes: Sequence[HashValue]) -> list[list[MatchView]]:
        snap = self._snap
        out: list[list[MatchView]] = [[] for _ in hashes]
        pdq_rows = [i for i, h in enumerate(hashes) if isinstance(h, PdqHash)]
        for i, value in enumerate(hashes):
            if not isinstance(value, PdqHash):
                out[i] = self._exact(snap, value)
        if pdq_rows:
            raw = b"".join(hashes[i].raw for i in pdq_rows)
            words = pdq_words(np.frombuffer(raw, np.uint8).reshape(-1, 32))
            for hit in self._pdq(snap, words):
                out[pdq_rows[hit.query_row]].append(hit.view)
            for i in pdq_rows:
                out[i].sort(key=lambda v: (v.distance, v.entry_id))
        return out

    # --- lookups ---------------------------------------------------------------------------

    def _exact(self, snap: _Snapshot, value: HashValue) -> list[MatchView]:
        views = []
        for entry_id, bank_id in snap.exact.get((str(value.signal_type), value.raw), ()):
            bank = snap.banks.get(bank_id)
            if bank is None or not bank.enabled or entry_id in snap.removed:
                continue
            views.append(_view(bank, entry_id, str(value.signal_type), 0, None, "exact"))
        return views

    def _pdq(self, snap: _Snapshot, words: np.ndarray) -> list[_PdqHit]:
        threshold = snap.pdq_threshold
        hits: list[_PdqHit] = []
        if not snap.banks:
            return hits
        for index in (snap.base, snap.delta):
            if len(index) == 0:
                continue
            pairs = index.search(words, threshold)
            for q, entry_id, bank_id, distance in zip(
                pairs.query_row.tolist(),
                pairs.entry_id.tolist(),
                pairs.bank_id.tolist(),
                pairs.distance.tolist(),
                strict=True,
            ):
                bank = snap.banks.get(bank_id)
                if bank is None or not bank.enabled or entry_id in snap.removed:
                    continue
                if distance > bank.threshold("pdq"):
                    continue
                # Equal PDQ hashes do not prove equal files: a PDQ match is always "near"
                # (the rule keepdown.matching follows too); "exact" means a cryptographic hash.
                hits.append(_PdqHit(q, _view(bank, entry_id, "pdq", distance, None, "near")))
        return hits

    # --- refresh ---------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Apply whatever changed in the banks since the last call; True if anything did."""
        with self._lock:
            mark = self.feed.mark()
            if self._loaded and mark == self._mark:
                return False
            previous = self._mark
            full = (
                not self._loaded
                or mark.restored != previous.restored
                or mark.max_entry_id < previous.max_entry_id
            )
            snap = self._full(mark) if full else self._delta(previous, mark)
            if not full and len(snap.delta) > self.max_delta:
                snap = self._full(mark)
            self._snap, self._mark, self._loaded = snap, mark, True
            log.info("match index refreshed (%s): %s", "full" if full else "delta", self.status())
            return True

    def _full(self, mark: Any) -> _Snapshot:
        removed = frozenset(self.feed.removed_since(None))
        pdq, exact = _split(self.feed.active_after(0, mark.max_entry_id))
        return _Snapshot(
            base=MihPdqIndex.build(pdq),
            delta=LinearPdqIndex(PdqRows.empty()),
            exact=exact,
            removed=removed,
            banks={b.id: b for b in self.load_banks()},
            max_entry_id=mark.max_entry_id,
            counts=_counts(len(pdq), exact, 0),
        )

    def _delta(self, previous: Any, mark: Any) -> _Snapshot:
        snap = self._snap
        new_pdq, new_exact = _split(self.feed.active_after(snap.max_entry_id, mark.max_entry_id))
        exact = dict(snap.exact)
        for key, ids in new_exact.items():
            exact[key] = exact.get(key, ()) + ids
        removed = snap.removed
        if mark.last_removed_at != previous.last_removed_at:
            removed = removed | frozenset(self.feed.removed_since(previous.last_removed_at))
        delta_rows = snap.delta.rows.concat(new_pdq)
        return _Snapshot(
            base=snap.base,
            delta=LinearPdqIndex(delta_rows),
            exact=exact,
            removed=removed,
            banks={b.id: b for b in self.load_banks()},
            max_entry_id=max(mark.max_entry_id, snap.max_entry_id),
            counts=_counts(len(snap.base) + len(delta_rows), exact, len(removed)),
        )


@dataclass(frozen=True)
class _PdqHit:
    query_row: int
    view: MatchView

    def _replace_variant(self, names: tuple[str, ...]) -> MatchView:
        v = self.view
        return MatchView(
            v.bank,
            v.entry_id,
            v.signal_type,
            v.distance,
            names[self.query_row],
            v.match_type,
            v.classification,
            v.trusted,
        )


def _best_per_entry(views: Iterable[MatchView]) -> list[MatchView]:
    best: dict[int, MatchView] = {}
    for view in views:
        current = best.get(view.entry_id)
        if current is None or view.distance < current.distance:
            best[view.entry_id] = view
    return sorted(best.values(), key=lambda v: (v.distance, v.entry_id))


def _view(
    bank: Bank, entry_id: int, signal_type: str, distance: int, variant: str | None, kind: str
) -> MatchView:
    label = bank.classification.category.value if bank.classification else None
    return MatchView(bank.name, entry_id, signal_type, distance, variant, kind, label, bank.trusted)


def _split(
    rows: Iterable[tuple[int, int, str, str]],
) -> tuple[PdqRows, dict[tuple[str, bytes], tuple[tuple[int, int], ...]]]:
    """PDQ rows for the index and an exact-hash dictionary, from entry rows."""
    pdq_raw: list[bytes] = []
    pdq_ids: list[int] = []
    pdq_banks: list[int] = []
    exact: dict[tuple[str, bytes], tuple[tuple[int, int], ...]] = {}
    for entry_id, bank_id, signal_type, value in rows:
        if signal_type == "pdq":
            pdq_raw.append(bytes.fromhex(value))
            pdq_ids.append(entry_id)
            pdq_banks.append(bank_id)
        elif signal_type in _EXACT:
            key = (signal_type, bytes.fromhex(value))
            exact[key] = (*exact.get(key, ()), (entry_id, bank_id))
    if not pdq_raw:
        return PdqRows.empty(), exact
    raw = np.frombuffer(b"".join(pdq_raw), np.uint8).reshape(-1, 32)
    return PdqRows.from_arrays(raw, pdq_ids, pdq_banks), exact


def _counts(pdq: int, exact: dict[tuple[str, bytes], Any], removed: int) -> dict[str, int]:
    counts = {"pdq": pdq}
    for (signal_type, _), ids in exact.items():
        counts[signal_type] = counts.get(signal_type, 0) + len(ids)
    return counts
