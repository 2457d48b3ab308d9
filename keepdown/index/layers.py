"""One signal type's index as a large immutable main part, a small delta, and hidden ids.

Adding or removing entries never rebuilds the main part: added rows go to the delta (rebuilt,
small), and removed entry ids are hidden from the main part's answers. Adding an id that is
already indexed replaces it (the old row is hidden, the new one lives in the delta); an id both
added and removed in one change ends removed.
``compacted()`` folds everything into a new main part; callers do that now and then, off the
query path (see ``LiveIndex.compact``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from keepdown.hashing.types import HashValue
from keepdown.index.exact import ExactIndex
from keepdown.index.mih import MihPdqIndex
from keepdown.index.protocol import Hit, PairHits
from keepdown.index.rows import PdqRows

__all__ = ["ExactLayer", "PdqLayer"]


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.union1d(a, b).astype(np.int64)
    out.flags.writeable = False
    return out


def _visible(entry_ids: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    if len(hidden) == 0:
        return np.ones(len(entry_ids), dtype=bool)
    pos = np.searchsorted(hidden, entry_ids).clip(max=len(hidden) - 1)
    visible: np.ndarray = hidden[pos] != entry_ids
    return visible


_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_IDS.flags.writeable = False


@dataclass(frozen=True, eq=False)
class PdqLayer:
    """PDQ rows: ``main`` minus ``hidden`` entry ids, plus ``delta``."""

    main: MihPdqIndex
    delta: MihPdqIndex
    hidden: np.ndarray = field(default_factory=lambda: _NO_IDS)

    @classmethod
    def build(cls, rows: PdqRows) -> PdqLayer:
        return cls(MihPdqIndex.build(rows), MihPdqIndex.build(PdqRows.empty()))

    def __len__(self) -> int:
        """Entries answered for (a full pass over the main ids: not for hot paths)."""
        hidden = int(np.isin(self.main.rows.entry_ids, self.hidden).sum())
        return len(self.main) - hidden + len(self.delta)

    def search(self, queries: np.ndarray, threshold: int) -> PairHits:
        main = self.main.search(queries, threshold)
        if len(self.hidden) == 0 and len(self.delta) == 0:
            return main  # the common case between compactions: nothing to merge
        keep = _visible(main.entry_id, self.hidden)
        delta = self.delta.search(queries, threshold)
        return PairHits(*(np.concatenate([m[keep], d]) for m, d in zip(main, delta, strict=True)))

    def changed(self, added: PdqRows, removed: np.ndarray) -> PdqLayer:
        gone = _union(removed, added.entry_ids)
        delta_rows = self.delta.rows.without_entries(gone).concat(added.without_entries(removed))
        return PdqLayer(self.main, MihPdqIndex.build(delta_rows), _union(self.hidden, gone))

    def compacted(self) -> PdqLayer:
        rows = self.main.rows.without_entries(self.hidden).concat(self.delta.rows)
        return PdqLayer.build(rows)


@dataclass(frozen=True, eq=False)
class ExactLayer:
    """Exact-hash rows of one signal type: ``main`` minus ``hidden``, plus ``delta``."""

    main: ExactIndex
    delta: ExactIndex
    hidden: np.ndarray = field(default_factory=lambda: _NO_IDS)

    @classmethod
    def build(cls, main: ExactIndex) -> ExactLayer:
        return cls(main, main.without_entries(main.entry_ids))

    def __len__(self) -> int:
        """Entries answered for (a full pass over the main ids: not for hot paths)."""
        hidden = int(np.isin(self.main.entry_ids, self.hidden).sum())
        return len(self.main) - hidden + len(self.delta)

    def query(self, value: HashValue) -> list[Hit]:
        hits = self.main.query(value)
        if hits and len(self.hidden):
            keep = _visible(np.array([h.entry_id for h in hits], np.int64), self.hidden)
            hits = [h for h, k in zip(hits, keep, strict=True) if k]
        return hits + self.delta.query(value)

    def changed(self, added: ExactIndex, removed: np.ndarray) -> ExactLayer:
        gone = _union(removed, added.entry_ids)
        delta = self.delta.without_entries(gone).merged(added.without_entries(removed))
        return ExactLayer(self.main, delta, _union(self.hidden, gone))

    def compacted(self) -> ExactLayer:
        return ExactLayer.build(self.main.without_entries(self.hidden).merged(self.delta))
