"""Fast exact PDQ index: multi-index hashing over numba-compiled chunk tables.

Build (``MihPdqIndex.build``):
1. pick a chunk layout for the table size (:func:`choose_layout`): ``m`` chunks of about
   ``256 / m`` bits, as few chunk tables as keep candidates per query low;
2. counting-sort the row numbers by each chunk's value into one CSR table per chunk.

Query (:meth:`MihPdqIndex.search`), for threshold ``t`` with ``r = t // m``:
1. estimate the cost of probing every chunk value within ``r`` bits against a plain scan and
   take the cheaper (very large ``t`` scans; both are exact);
2. probe, verify each candidate with a full popcount, keep those within ``t`` (kernels.py).

Why this is exact is explained in ``kernels.py`` and ``docs/index.md``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

from keepdown.errors import InvalidInput
from keepdown.index import kernels
from keepdown.index.protocol import Hit, PairHits, PdqQuery, check_threshold, query_words
from keepdown.index.rows import PdqRows, hits_from_pairs

__all__ = ["ChunkLayout", "MihPdqIndex", "choose_layout", "warm_up"]

# Rough costs (ns, fitted to runs at 1e6 and 1e7 rows on a 2-core x86 VM) of one chunk probe,
# one verified candidate (a cache miss each) and one row-variant pair of a plain scan. They only
# steer choices; results never depend on them.
_PROBE_NS = 40.0
_CANDIDATE_NS = 45.0
_SCAN_NS = 2.0
#: Chunk tables may have at most this many values per indexed row (memory cap).
_VALUES_PER_ROW = 4
#: Below this many rows a plain scan beats building tables.
LINEAR_BELOW = 4096
_MAX_CHUNK_BITS = 24


@dataclass(frozen=True)
class ChunkLayout:
    """Widths of the chunks the 256 bits are cut into, in bit order."""

    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        if sum(self.widths) != 256 or not all(1 <= w <= _MAX_CHUNK_BITS for w in self.widths):
            raise InvalidInput(f"chunk widths must be 1..24 bits summing to 256: {self.widths}")

    @classmethod
    def even(cls, m: int) -> ChunkLayout:
        """``m`` chunks as equal as possible (wider ones first)."""
        return cls(tuple(256 // m + (1 if c < 256 % m else 0) for c in range(m)))

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(np.int64)

    @property
    def table_bases(self) -> np.ndarray:
        sizes = [(1 << w) + 1 for w in self.widths]
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def probes(self, r: int) -> int:
        """Chunk values visited per query variant at per-chunk radius ``r``."""
        return sum(_ball(w, r) for w in self.widths)

    def candidates(self, r: int, n: int) -> float:
        """Expected rows verified per variant for ``n`` uniformly random rows."""
        return sum(_ball(w, r) * n / (1 << w) for w in self.widths)

    def cost_ns(self, t: int, n: int) -> float:
        r = t // len(self.widths)
        return self.probes(r) * _PROBE_NS + self.candidates(r, n) * _CANDIDATE_NS


def _ball(width: int, r: int) -> int:
    """Number of ``width``-bit values within ``r`` bits of a given one."""
    return sum(math.comb(width, k) for k in range(min(r, width) + 1))


def choose_layout(n: int, t: int = 31) -> ChunkLayout:
    """The even layout with the lowest modelled query cost at threshold ``t`` for ``n`` rows.

    Wider chunks mean fewer candidates but tables of ``2**width`` offsets; the cap keeps those
    tables within a few entries per row.
    """
    n = max(n, 1)
    candidates = [
        lay
        for lay in (ChunkLayout.even(m) for m in range(11, 33))
        if sum(1 << w for w in lay.widths) <= _VALUES_PER_ROW * n * len(lay.widths)
    ] or [ChunkLayout.even(32)]
    return min(candidates, key=lambda lay: (lay.cost_ns(t, n), len(lay.widths)))


def _readonly(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


def _check_tables(
    layout: ChunkLayout, n: int, tables: np.ndarray | None, offsets: np.ndarray | None
) -> None:
    """Refuse tables that do not fit the layout and row count (a truncated or foreign file)."""
    n_offsets = sum((1 << w) + 1 for w in layout.widths)
    if tables is None or offsets is None:
        raise InvalidInput("a chunk layout needs its tables and offsets")
    if tables.shape != (len(layout.widths), n) or tables.dtype != np.uint32:
        raise InvalidInput(f"chunk tables must be ({len(layout.widths)}, {n}) uint32")
    if offsets.shape != (n_offsets,) or offsets.dtype != np.uint32:
        raise InvalidInput(f"chunk offsets must be ({n_offsets},) uint32")
    ends = layout.table_bases + np.array([1 << w for w in layout.widths])
    if not np.all(offsets[ends] == n):
        raise InvalidInput("chunk offsets do not cover every row")


def warm_up() -> float:
    """Compile (or load from numba's cache) every kernel; returns the seconds it took."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(64, 32), dtype=np.uint8)
    rows = PdqRows.from_arrays(raw, np.arange(64), np.zeros(64))
    index = MihPdqIndex.build(rows, ChunkLayout.even(32))
    index.search_rows(rows.words[:2], 31)
    MihPdqIndex.build(rows, None).search_rows(rows.words[:2], 31)
    return time.perf_counter() - start


@lru_cache(maxsize=64)
def _masks(width: int, r: int) -> np.ndarray:
    """Every ``width``-bit mask with at most ``r`` bits set, ascending (read-only)."""
    masks = [0]
    for k in range(1, min(r, width) + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(width), k))
    out = np.array(sorted(masks), dtype=np.int64)
    out.flags.writeable = False
    return out


class MihPdqIndex:
    """Immutable multi-index-hashing PDQ index over :class:`PdqRows`."""

    def __init__(
        self,
        rows: PdqRows,
        layout: ChunkLayout | None,
        tables: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
    ) -> None:
        """Wrap prebuilt tables (see :meth:`build`); ``layout=None`` means scan only."""
        self.rows = rows
        self.layout = layout
        # Read-only views: built, loaded and memory-mapped arrays then share one compiled kernel.
        self._words = _readonly(rows.words)
        self.tables = None if tables is None else _readonly(tables)
        self.offsets = None if offsets is None else _readonly(offsets)
        if layout is not None:
            _check_tables(layout, len(rows), self.tables, self.offsets)
        self._plans: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        if layout is not None:
            self._chunk_off = layout.offsets
            self._chunk_width = np.array(layout.widths, dtype=np.int64)
            self._chunk_base = layout.table_bases

    @classmethod
    def build(cls, rows: PdqRows, layout: ChunkLayout | None = None) -> MihPdqIndex:
        """Build the chunk tables (``layout`` chosen for the size when not given)."""
        if len(rows) >= 2**32 - 1:
            raise InvalidInput(f"a PDQ index holds fewer than 2**32 rows, got {len(rows)}")
        if layout is None:
            if len(rows) < LINEAR_BELOW:
                return cls(rows, None)
            layout = choose_layout(len(rows))
        n = len(rows)
        tables = np.empty((len(layout.widths), n), dtype=np.uint32)
        offsets = np.empty(int(sum((1 << w) + 1 for w in layout.widths)), dtype=np.uint32)
        words = _readonly(rows.words)
        for c, (off, width) in enumerate(zip(layout.offsets, layout.widths, strict=True)):
            base = int(layout.table_bases[c])
            kernels.build_chunk_table(
                words, int(off), int(width), tables[c], offsets[base : base + (1 << width) + 1]
            )
        return cls(rows, layout, tables, offsets)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nbytes(self) -> int:
        """Bytes held by the hashes, ids and chunk tables."""
        parts = [
            self.rows.words,
            self.rows.entry_ids,
            self.rows.bank_ids,
            self.tables,
            self.offsets,
        ]
        return int(sum(p.nbytes for p in parts if p is not None))

    def _plan(self, t: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Masks and per-chunk mask counts for threshold ``t``, or None to scan (memoised)."""
        if t in self._plans:
            return self._plans[t]
        plan = None
        layout = self.layout
        if layout is not None:
            r = t // len(layout.widths)
            # r >= 8 would mean millions of probes per chunk: a scan is cheaper at any size.
            if r < 8 and layout.cost_ns(t, len(self)) <= len(self) * _SCAN_NS:
                masks = _masks(max(layout.widths), r)
                counts = np.searchsorted(masks, [1 << w for w in layout.widths])
                plan = (masks, counts.astype(np.int64))
        self._plans[t] = plan
        return plan

    def search_rows(
        self, queries: np.ndarray, threshold: int = 31
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query row, table row, distance) for every pair within ``threshold``, each once."""
        t = check_threshold(threshold)
        # A fresh writable copy keeps one compiled signature for every caller's array.
        q = np.array(queries, dtype=np.uint64, order="C", copy=True)
        if len(self) == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        plan = self._plan(t)
        hits: tuple[np.ndarray, np.ndarray, np.ndarray]
        if plan is None:
            hits = kernels.linear_search(self._words, q, t)
            return hits
        masks, mask_count = plan
        hits = kernels.mih_search(
            self._words,
            self.tables,
            self.offsets,
            self._chunk_off,
            self._chunk_width,
            self._chunk_base,
            masks,
            mask_count,
            q,
            t,
            t // len(self._chunk_off),
        )
        return hits

    def search(self, queries: np.ndarray, threshold: int = 31) -> PairHits:
        return self.rows.pairs(*self.search_rows(queries, threshold))

    def query(self, variants: PdqQuery, threshold: int = 31) -> list[Hit]:
        names, words = query_words(variants)
        return hits_from_pairs(self.search(words, threshold), names)
