"""Brute-force PDQ index: the slow, obviously correct reference every fast index is tested against.

It computes the distance from every variant to every row with numpy and keeps what is within
the threshold. No cleverness, so a disagreement with it is a bug in the fast index.
"""

from __future__ import annotations

import numpy as np

from keepdown.index.protocol import Hit, PairHits, PdqQuery, check_threshold, query_words
from keepdown.index.rows import PdqRows

__all__ = ["LinearPdqIndex"]


class LinearPdqIndex:
    """Every query scans every row (numpy ``bitwise_count`` over the 32 bytes)."""

    def __init__(self, rows: PdqRows) -> None:
        self.rows = rows
        self._bytes = rows.words.view(np.uint8).reshape(-1, 32)

    def __len__(self) -> int:
        return len(self.rows)

    def _distances(self, words: np.ndarray) -> np.ndarray:
        """(n_queries, n_rows) matrix of Hamming distances."""
        qbytes = words.view(np.uint8).reshape(-1, 32)
        out = np.empty((len(qbytes), len(self._bytes)), dtype=np.int64)
        for i, q in enumerate(qbytes):  # one query row at a time bounds the memory used
            out[i] = np.bitwise_count(self._bytes ^ q).sum(axis=1, dtype=np.int64)
        return out

    def search(self, queries: np.ndarray, threshold: int = 31) -> PairHits:
        t = check_threshold(threshold)
        dist = self._distances(queries)
        qrow, row = np.nonzero(dist <= t)
        return self.rows.pairs(qrow.astype(np.int64), row, dist[qrow, row])

    def query(self, variants: PdqQuery, threshold: int = 31) -> list[Hit]:
        t = check_threshold(threshold)
        names, words = query_words(variants)
        dist = self._distances(words)
        best_variant = dist.argmin(axis=0)  # argmin takes the first variant on ties
        best = dist.min(axis=0)
        hits = [
            Hit(
                int(self.rows.entry_ids[i]),
                int(self.rows.bank_ids[i]),
                int(best[i]),
                names[int(best_variant[i])],
            )
            for i in np.nonzero(best <= t)[0]
        ]
        return sorted(hits, key=lambda h: (h.distance, h.entry_id))
