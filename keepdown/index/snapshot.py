"""Immutable index snapshots that matchers read, and the live holder that swaps them.

A matcher takes ``live.snapshot`` once per piece of media and queries that object only: it never
changes under it. Bank changes make a new snapshot cheaply (the large main parts are shared,
only the small deltas are rebuilt) and swap it in under a lock; readers take no lock at all
(reading one attribute is atomic in Python).

Compaction (``LiveIndex.compact``), done now and then off the query path:
1. under the lock, note the current snapshot and start recording changes;
2. without the lock, build new main parts from it (the slow part);
3. under the lock, replay the changes made meanwhile onto the result and swap it in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from keepdown.errors import InvalidHash
from keepdown.hashing.types import HashValue, PdqHash, SignalType
from keepdown.index.exact import ExactIndex
from keepdown.index.layers import ExactLayer, PdqLayer
from keepdown.index.protocol import Hit, PairHits, PdqQuery, check_threshold, query_words
from keepdown.index.rows import PdqRows, hits_from_pairs

__all__ = ["EXACT_SIGNALS", "IndexEntry", "IndexSnapshot", "LiveIndex"]

#: Signal types held in exact (equal bytes) indexes.
EXACT_SIGNALS = (SignalType.MD5, SignalType.SHA1, SignalType.SHA256)


class IndexEntry(NamedTuple):
    """One bank entry to index: its database id, its bank's id and its hash."""

    entry_id: int
    bank_id: int
    value: HashValue


def _split(entries: Iterable[IndexEntry]) -> tuple[PdqRows, dict[SignalType, ExactIndex]]:
    pdq: list[tuple[int, int, PdqHash]] = []
    exact: dict[SignalType, list[tuple[int, int, HashValue]]] = {s: [] for s in EXACT_SIGNALS}
    for entry_id, bank_id, value in entries:
        if isinstance(value, PdqHash):
            pdq.append((int(entry_id), int(bank_id), value))
        elif isinstance(value, HashValue) and value.signal_type in exact:
            exact[value.signal_type].append((int(entry_id), int(bank_id), value))
        else:
            raise InvalidHash(f"cannot index a {type(value).__name__} value")
    return PdqRows.from_entries(pdq), {
        s: ExactIndex.from_entries(s, items) for s, items in exact.items()
    }


@dataclass(frozen=True, eq=False)
class IndexSnapshot:
    """Every indexed entry at one moment: a PDQ layer and one exact layer per signal type."""

    pdq: PdqLayer
    exact: Mapping[SignalType, ExactLayer]
    version: int = 0

    @classmethod
    def build(cls, entries: Iterable[IndexEntry]) -> IndexSnapshot:
        """A snapshot of ``entries`` (any mix of PDQ, MD5, SHA-1 and SHA-256 values)."""
        rows, exact = _split(entries)
        return cls.from_parts(rows, exact)

    @classmethod
    def from_parts(
        cls, pdq: PdqRows, exact: Mapping[SignalType, ExactIndex] | None = None, version: int = 0
    ) -> IndexSnapshot:
        """From arrays already in hand (the fast path for millions of rows from a database)."""
        exact = dict(exact or {})
        layers = {
            s: ExactLayer.build(exact.get(s) or ExactIndex.from_entries(s, []))
            for s in EXACT_SIGNALS
        }
        return cls(PdqLayer.build(pdq), layers, version)

    @classmethod
    def empty(cls) -> IndexSnapshot:
        return cls.build([])

    def counts(self) -> dict[SignalType, int]:
        """Entries per signal type (a pass over the ids: for status pages, not hot paths)."""
        out = {SignalType.PDQ: len(self.pdq)}
        out.update({s: len(layer) for s, layer in self.exact.items()})
        return out

    def search_pdq(self, queries: np.ndarray, threshold: int = 31) -> PairHits:
        """Every (query row, entry) pair within ``threshold``; ``queries`` is (n, 4) uint64."""
        return self.pdq.search(queries, check_threshold(threshold))

    def query_pdq(self, variants: PdqQuery, threshold: int = 31) -> list[Hit]:
        """Best distance and variant per entry within ``threshold`` of any variant."""
        names, words = query_words(variants)
        return hits_from_pairs(self.search_pdq(words, threshold), names)

    def query_exact(self, value: HashValue) -> list[Hit]:
        """Every entry whose MD5 / SHA-1 / SHA-256 equals ``value``."""
        layer = self.exact.get(value.signal_type)
        if layer is None:
            raise InvalidHash(f"no exact index for signal type {value.signal_type}")
        return layer.query(value)

    def with_changes(
        self, added: Iterable[IndexEntry] = (), removed: Iterable[int] = ()
    ) -> IndexSnapshot:
        """A new snapshot with ``added`` entries (replacing same ids) and ``removed`` ids gone."""
        rows, exact = _split(added)
        return self.with_parts(rows, exact, np.fromiter((int(i) for i in removed), np.int64))

    def with_parts(
        self,
        pdq: PdqRows,
        exact: Mapping[SignalType, ExactIndex] | None = None,
        removed: np.ndarray | None = None,
    ) -> IndexSnapshot:
        """:meth:`with_changes` from arrays already in hand (no per-entry objects).

        Each entry id may appear once among the added rows.
        """
        gone = np.unique(np.asarray(removed if removed is not None else [], dtype=np.int64))
        exact = exact or {}
        return IndexSnapshot(
            self.pdq.changed(pdq, gone),
            {
                s: layer.changed(exact.get(s) or ExactIndex.from_entries(s, []), gone)
                for s, layer in self.exact.items()
            },
            self.version + 1,
        )

    @property
    def has_deltas(self) -> bool:
        """True when some change sits in a delta or hides a main row (compaction would help)."""
        layers: list[PdqLayer | ExactLayer] = [self.pdq, *self.exact.values()]
        return any(len(layer.delta) or len(layer.hidden) for layer in layers)

    def compacted(self) -> IndexSnapshot:
        """The same entries with every delta folded into new main parts (slow: a full build)."""
        return IndexSnapshot(
            self.pdq.compacted(),
            {s: layer.compacted() for s, layer in self.exact.items()},
            self.version + 1,
        )


#: One change as :meth:`LiveIndex.apply_parts` takes it (replayed after a compaction).
_Change = tuple[PdqRows, dict[SignalType, ExactIndex], np.ndarray]


class LiveIndex:
    """Holds the current :class:`IndexSnapshot`; applies changes by swapping in a new one."""

    def __init__(self, snapshot: IndexSnapshot | None = None) -> None:
        self._snapshot = snapshot or IndexSnapshot.empty()
        self._lock = threading.Lock()
        self._compacting = threading.Lock()  # one compaction at a time
        self._since_compaction: list[_Change] | None = None

    @property
    def snapshot(self) -> IndexSnapshot:
        """The current snapshot: read it once and query that object."""
        return self._snapshot

    def apply(self, added: Iterable[IndexEntry] = (), removed: Iterable[int] = ()) -> IndexSnapshot:
        """Add (or replace) and remove entries; returns the snapshot now current."""
        rows, exact = _split(added)
        return self.apply_parts(rows, exact, np.fromiter((int(i) for i in removed), np.int64))

    def apply_parts(
        self,
        pdq: PdqRows,
        exact: Mapping[SignalType, ExactIndex] | None = None,
        removed: np.ndarray | None = None,
    ) -> IndexSnapshot:
        """:meth:`apply` from arrays (see :meth:`IndexSnapshot.with_parts`)."""
        change = (pdq, dict(exact or {}), np.asarray(removed if removed is not None else []))
        with self._lock:
            self._snapshot = self._snapshot.with_parts(*change)
            if self._since_compaction is not None:
                self._since_compaction.append(change)
            return self._snapshot

    def replace(self, snapshot: IndexSnapshot) -> None:
        """Swap in a snapshot built elsewhere (a reload from disk or the database)."""
        with self._lock:
            self._snapshot = snapshot
            self._since_compaction = None

    def compact(self) -> IndexSnapshot:
        """Fold the deltas into new main parts without blocking readers or writers for long."""
        with self._compacting:
            return self._compact()

    def _compact(self) -> IndexSnapshot:
        with self._lock:
            base = self._snapshot
            self._since_compaction = []
        fresh = base.compacted()
        with self._lock:
            if self._since_compaction is None:  # replace() swapped in another snapshot meanwhile
                return self._snapshot
            changes, self._since_compaction = self._since_compaction, None
            for change in changes:
                fresh = fresh.with_parts(*change)
            self._snapshot = fresh
            return fresh
