"""Keeping a match index equal to the banks in the database: a full build, or a catch-up.

The index's position in the database is a :class:`SyncState`: the :class:`FeedMark` it has
applied (highest entry id, the imports journal's running totals, imports still running), the
ids of removed entries (tombstones) it knows of, and, on databases that may commit entry ids out
of order, the imports still in flight. The same catch-up serves a running process (a refresh
every few seconds) and a process starting from a checkpoint on disk (a delta since the
checkpoint).

Every change to bank entries is journaled in the ``imports`` table in the same transaction (an
import, a single added entry, a removal; see ``docs/storage.md``), so one cheap read of the mark
says what kind of change happened. :func:`catch_up`, in one consistent database view:

1. read the mark; if it equals the state's, nothing changed;
2. new entries: active entries with ``previous max id < id <= max id``;
3. late entries (PostgreSQL only: a transaction may commit ids below ones already committed):
   an import that was running at an earlier mark and has now finished with changes may have
   committed ids at or below the old max; its id range is read again (replacing same ids);
4. removals and restores, when the journal's removed or restored totals moved (or late entries
   were read): when single removals (journaled with their entry id) explain the change, those
   ids; otherwise every current tombstone id against the known ones (a scan of the entries).
   Newly removed ids leave the index, restored ones are read back in.

Nothing here trusts clocks (``removed_at`` times from different processes may disagree): only
ids and the journal's totals, which only grow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from keepdown.hashing.types import SignalType
from keepdown.index.exact import ExactIndex
from keepdown.index.rows import PdqRows
from keepdown.index.snapshot import EXACT_SIGNALS, IndexSnapshot

__all__ = [
    "BankFeed",
    "Changes",
    "EntryRow",
    "FeedMark",
    "FeedView",
    "SyncState",
    "build",
    "catch_up",
]

#: (entry id, bank id, signal type, hex value), as the feed yields them (more columns may follow).
EntryRow = tuple[int, int, str, str]
#: The same with a last column true when the entry is removed (a tombstone).
StatedRow = tuple[int, int, str, str, bool]

_INDEXED = (SignalType.PDQ, *EXACT_SIGNALS)
_NO_IDS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class FeedMark:
    """Where the banks' entries stand: cheap to read, moves on every change to them."""

    max_entry_id: int
    #: Running totals over finished imports: (imports, added, removed, restored).
    journal: tuple[int, int, int, int]
    #: Imports visible as still running (their entries are not visible yet).
    running: frozenset[int] = frozenset()
    #: True when entry ids become visible in increasing order (SQLite: one writer at a time).
    ordered: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "max_entry_id": self.max_entry_id,
            "journal": list(self.journal),
            "running": sorted(self.running),
            "ordered": self.ordered,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedMark:
        a, b, c, d = (int(x) for x in data["journal"])
        return cls(
            int(data["max_entry_id"]),
            (a, b, c, d),
            frozenset(int(i) for i in data["running"]),
            bool(data["ordered"]),
        )


class FeedView(Protocol):
    """One consistent view of the banks (a database snapshot); see IndexFeed in storage."""

    def mark(self) -> FeedMark: ...

    def entries(self, after_id: int, up_to_id: int) -> Iterator[Sequence[StatedRow]]:
        """Every entry (active or removed) with ``after_id < id <= up_to_id``, in batches."""
        ...

    def active(self, after_id: int, up_to_id: int) -> Iterator[Sequence[EntryRow]]:
        """Active entries with ``after_id < id <= up_to_id``, in batches."""
        ...

    def active_by_id(self, ids: np.ndarray) -> Iterator[Sequence[EntryRow]]:
        """Those of ``ids`` that are active entries, in batches."""
        ...

    def tombstones(self) -> np.ndarray:
        """Sorted ids of every removed entry (a scan of every entry: avoided when possible)."""
        ...

    def single_removals(self, after_import_id: int) -> list[tuple[int, int]]:
        """(journal id, entry id) of single removals journaled after ``after_import_id``."""
        ...

    def removed_among(self, ids: Iterable[int]) -> np.ndarray:
        """Those of ``ids`` that are removed entries, sorted."""
        ...

    def finished(self, import_ids: Iterable[int]) -> set[int]:
        """Those imports that finished and changed entries."""
        ...

    def identity(self) -> dict[str, Any]:
        """What tells this database apart: dialect and schema revision."""
        ...

    def values(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """Entry id -> (signal type, hex value), removed entries included."""
        ...


class BankFeed(Protocol):
    """What the index reads from the banks (``keepdown.storage.index_feed.IndexFeed``)."""

    def view(self) -> AbstractContextManager[FeedView]: ...


@dataclass(frozen=True, eq=False)
class SyncState:
    """The database position an index snapshot stands for."""

    mark: FeedMark
    tombstones: np.ndarray = field(default_factory=lambda: _NO_IDS)  # sorted int64
    #: Running import id -> its entries all have ids above this (PostgreSQL only).
    pending: Mapping[int, int] = field(default_factory=dict)
    #: Highest journal id of the single removals accounted for in ``tombstones``.
    removal_log: int = 0


@dataclass(frozen=True, eq=False)
class Changes:
    """What a catch-up found: rows to add (replacing same ids), ids to remove, and counts."""

    pdq: PdqRows
    exact: Mapping[SignalType, ExactIndex]
    removed: np.ndarray
    restored: int = 0
    late: int = 0

    @property
    def added(self) -> int:
        return len(self.pdq) + sum(len(x) for x in self.exact.values())

    def __bool__(self) -> bool:
        return bool(self.added or len(self.removed))


class _Columns:
    """Feed rows gathered into index arrays, batch by batch (no per-entry objects)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
            str(s): [] for s in _INDEXED
        }

    def add(self, rows: Sequence[EntryRow] | Sequence[StatedRow]) -> None:
        if not rows:
            return
        ids = [r[0] for r in rows]
        banks = [r[1] for r in rows]
        signals = [r[2] for r in rows]
        values = [r[3] for r in rows]
        pdq = str(SignalType.PDQ)
        if signals.count(pdq) == len(signals):
            self._append(pdq, ids, banks, values)
            return
        for signal in set(signals):
            if signal in self.parts:
                pick = [i for i, s in enumerate(signals) if s == signal]
                self._append(
                    signal,
                    [ids[i] for i in pick],
                    [banks[i] for i in pick],
                    [values[i] for i in pick],
                )

    def _append(self, signal: str, ids: Sequence[int], banks: Sequence[int], values: Any) -> None:
        width = 2 * _width(signal)
        blob = "".join(values)
        if len(blob) != width * len(values):
            raise ValueError(f"a stored {signal} value is not {width} hex digits")
        raw = np.frombuffer(bytes.fromhex(blob), np.uint8).reshape(-1, width // 2)
        self.parts[signal].append(
            (raw, np.asarray(ids, dtype=np.int64), np.asarray(banks, dtype=np.int64))
        )

    def _arrays(self, signal: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        parts = self.parts[signal]
        if not parts:
            return None
        raw, ids, banks = (np.concatenate(p) for p in zip(*parts, strict=True))
        # Keep the last row per entry id (a range read twice, or a restore read again).
        _, last = np.unique(ids[::-1], return_index=True)
        if len(last) != len(ids):
            keep = np.sort(len(ids) - 1 - last)
            raw, ids, banks = raw[keep], ids[keep], banks[keep]
        return raw, ids, banks

    def pdq(self) -> PdqRows:
        arrays = self._arrays(str(SignalType.PDQ))
        return PdqRows.empty() if arrays is None else PdqRows.from_arrays(*arrays)

    def exact(self) -> dict[SignalType, ExactIndex]:
        out = {}
        for signal in EXACT_SIGNALS:
            arrays = self._arrays(str(signal))
            if arrays is not None:
                out[signal] = ExactIndex.build(signal, *arrays)
        return out


def _width(signal: str) -> int:
    return {"pdq": 32, "md5": 16, "sha1": 20, "sha256": 32}[signal]


def build(view: FeedView) -> tuple[IndexSnapshot, SyncState]:
    """A snapshot of every active entry in ``view``, and the position it stands for."""
    mark = view.mark()
    columns = _Columns()
    tombstones: list[np.ndarray] = []
    for batch in view.entries(0, mark.max_entry_id):
        gone = [r[0] for r in batch if r[4]]
        if gone:
            tombstones.append(np.array(gone, dtype=np.int64))
            batch = [r for r in batch if not r[4]]
        columns.add(batch)
    pending = {} if mark.ordered else dict.fromkeys(mark.running, 0)
    known = np.unique(np.concatenate(tombstones)) if tombstones else _NO_IDS
    snapshot = IndexSnapshot.from_parts(columns.pdq(), columns.exact())
    return snapshot, SyncState(mark, known, pending, _last_removal(view, 0))


def _last_removal(view: FeedView, after: int) -> int:
    return max((j for j, _ in view.single_removals(after)), default=after)


def catch_up(view: FeedView, state: SyncState) -> tuple[SyncState, Changes | None]:
    """The state ``view`` is at, and the changes from ``state`` to it (None: nothing moved)."""
    mark = view.mark()
    previous = state.mark
    if mark == previous:
        return state, None
    columns = _Columns()
    for batch in view.active(previous.max_entry_id, mark.max_entry_id):
        columns.add(batch)
    pending, late_low = _pending(view, state, mark)
    late = 0
    if late_low is not None:  # step 3
        for batch in view.active(late_low, previous.max_entry_id):
            late += len(batch)
            columns.add(batch)
    tombstones, log, removed, restored = state.tombstones, state.removal_log, _NO_IDS, 0
    if mark.journal[2:] != previous.journal[2:] or late_low is not None:  # step 4
        single = None if late_low is not None else _single_removals(view, state, mark)
        if single is not None:
            log, removed = single
            tombstones = np.union1d(state.tombstones, removed)
        else:
            tombstones, log = view.tombstones(), _last_removal(view, state.removal_log)
            removed = np.setdiff1d(tombstones, state.tombstones)
            back = np.setdiff1d(state.tombstones, tombstones)
            for batch in view.active_by_id(back):
                restored += len(batch)
                columns.add(batch)
        removed = removed[removed <= previous.max_entry_id]  # higher ids were never added
    changes = Changes(columns.pdq(), columns.exact(), removed, restored, late)
    return SyncState(mark, tombstones, pending, log), changes


def _single_removals(
    view: FeedView, state: SyncState, mark: FeedMark
) -> tuple[int, np.ndarray] | None:
    """The journal id reached and the ids removed, when single removals (each journaled with
    its entry id) explain every change of the removed and restored totals; else None (read
    every tombstone instead).

    Journal rows above ``removal_log`` were not visible at the previous mark, so each is a new
    removal of one; if the removed total grew by exactly their number and nothing was
    restored, they are all there is. Their claims are checked: each entry must be removed now
    and not before (a file can be named like a journal row).
    """
    grown = mark.journal[2] - state.mark.journal[2]
    if mark.journal[3] != state.mark.journal[3] or grown <= 0:
        return None
    rows = view.single_removals(state.removal_log)
    ids = np.unique(np.array([e for _, e in rows], dtype=np.int64))
    if len(rows) != grown or len(ids) != grown:
        return None
    fresh = np.setdiff1d(view.removed_among(ids), state.tombstones)
    if len(fresh) != grown:
        return None
    return max(j for j, _ in rows), fresh


def _pending(view: FeedView, state: SyncState, mark: FeedMark) -> tuple[dict[int, int], int | None]:
    """Imports in flight after this mark, and the low id bound of those that just finished."""
    if mark.ordered:
        return {}, None
    pending = dict(state.pending)
    gone = [i for i in pending if i not in mark.running]
    finished = view.finished(gone) if gone else set()
    lows = [pending[i] for i in finished]
    for import_id in gone:
        del pending[import_id]
    for import_id in mark.running:
        # Not running at the previous mark, so every id it takes is above the previous max.
        pending.setdefault(import_id, state.mark.max_entry_id)
    return pending, (min(lows) if lows else None)
