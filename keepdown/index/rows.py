"""The rows a PDQ index is built from: hash words, entry ids and bank ids, in parallel arrays.

One row per bank entry (entries sharing a hash are separate rows, so a query reports all of
them). The arrays are read-only once built: indexes and snapshots share them freely.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from keepdown.errors import InvalidInput
from keepdown.hashing.types import PdqHash
from keepdown.index.protocol import Hit, PairHits, pdq_words

__all__ = ["PdqRows", "hits_from_pairs"]


@dataclass(frozen=True, eq=False)
class PdqRows:
    """``words`` (n, 4) uint64, ``entry_ids`` (n,) int64, ``bank_ids`` (n,) int64."""

    words: np.ndarray
    entry_ids: np.ndarray
    bank_ids: np.ndarray

    def __post_init__(self) -> None:
        n = self.words.shape[0]
        if self.words.ndim != 2 or self.words.shape[1] != 4 or self.words.dtype != np.uint64:
            raise InvalidInput(f"PDQ words must be (n, 4) uint64, got {self.words.shape}")
        if self.entry_ids.shape != (n,) or self.bank_ids.shape != (n,):
            raise InvalidInput(
                f"{n} hashes need {n} entry ids and bank ids, got "
                f"{self.entry_ids.shape[0]} and {self.bank_ids.shape[0]}"
            )

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @classmethod
    def empty(cls) -> PdqRows:
        return cls(np.zeros((0, 4), np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    @classmethod
    def from_arrays(cls, raw: np.ndarray, entry_ids: object, bank_ids: object) -> PdqRows:
        """From (n, 32) uint8 hash bytes and two integer sequences (copied, made read-only)."""
        words = pdq_words(raw).copy()
        ids = np.asarray(entry_ids, dtype=np.int64).copy()
        banks = np.asarray(bank_ids, dtype=np.int64).copy()
        for arr in (words, ids, banks):
            arr.flags.writeable = False
        return cls(words, ids, banks)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[int, int, PdqHash]]) -> PdqRows:
        """From ``(entry_id, bank_id, PdqHash)`` triples."""
        items = list(entries)
        if not items:
            return cls.empty()
        raw = np.frombuffer(b"".join(h.raw for _, _, h in items), dtype=np.uint8)
        return cls.from_arrays(
            raw.reshape(-1, 32), [e for e, _, _ in items], [b for _, b, _ in items]
        )

    def without_entries(self, entry_ids: np.ndarray) -> PdqRows:
        """These rows minus every row whose entry id is in ``entry_ids``."""
        if len(entry_ids) == 0 or len(self) == 0:
            return self
        keep = ~np.isin(self.entry_ids, entry_ids)
        return PdqRows(self.words[keep], self.entry_ids[keep], self.bank_ids[keep])

    def concat(self, other: PdqRows) -> PdqRows:
        if len(other) == 0:
            return self
        if len(self) == 0:
            return other
        return PdqRows(
            np.concatenate([self.words, other.words]),
            np.concatenate([self.entry_ids, other.entry_ids]),
            np.concatenate([self.bank_ids, other.bank_ids]),
        )

    def pairs(self, query_row: np.ndarray, row: np.ndarray, distance: np.ndarray) -> PairHits:
        """Turn (query row, table row, distance) arrays into :class:`PairHits`."""
        return PairHits(query_row, self.entry_ids[row], self.bank_ids[row], distance)


def hits_from_pairs(pairs: PairHits, names: tuple[str, ...]) -> list[Hit]:
    """Best distance per entry (ties: the first variant), sorted by (distance, entry id)."""
    if len(pairs.entry_id) == 0:
        return []
    order = np.lexsort((pairs.query_row, pairs.distance, pairs.entry_id))
    ids = pairs.entry_id[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    picked = order[first]
    picked = picked[np.lexsort((pairs.entry_id[picked], pairs.distance[picked]))]
    return [
        Hit(int(e), int(b), int(d), names[int(q)])
        for e, b, d, q in zip(
            pairs.entry_id[picked],
            pairs.bank_id[picked],
            pairs.distance[picked],
            pairs.query_row[picked],
            strict=True,
        )
    ]
