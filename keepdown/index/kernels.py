"""Compiled inner loops of the PDQ index (numba, ``cache=True``, compiled on first use).

Hashes are held as rows of four ``uint64`` words (the 32 raw bytes viewed in native order, the
same view for the database and the queries, so Hamming distances are unchanged). Every kernel
releases the GIL (``nogil``) so matchers in several threads run in parallel.

Multi-index hashing (Norouzi, Punjani and Fleet) splits the 256 bits into ``m`` chunks. If two
hashes are within distance ``t``, the chunk distances sum to at most ``t``, so at least one
chunk differs by at most ``r = t // m`` bits (pigeonhole). A query therefore visits, in each
chunk table, every chunk value within ``r`` bits of its own and verifies each row found there
with a full 256-bit popcount. Nothing within ``t`` can be missed: that is why the index is exact.

The tables are a CSR layout per chunk, built by counting sort: ``offsets[base + v]`` ..
``offsets[base + v + 1]`` delimit the row numbers whose chunk value is ``v`` in ``rows[c]``.
A row within ``t`` is reported once, from the first chunk whose distance is within ``r``;
later chunks that also reach it skip it, so no de-duplication pass is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

__all__ = [
    "build_chunk_table",
    "linear_search",
    "mih_search",
]


@intrinsic
def _ctpop_intrinsic(typingctx, x):
    """LLVM's population count: one POPCNT instruction on the host CPU."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [args[0].type])
        return builder.call(fn, args)

    return sig, codegen


#: The kernels' name for it: numba passes the typing context itself, so a call takes one
#: argument (mypy sees the two-argument Python function otherwise).
_ctpop = cast(Callable[[Any], Any], _ctpop_intrinsic)


@njit(cache=True, inline="always")
def _distance(db, row, q, qi):
    d = _ctpop(db[row, 0] ^ q[qi, 0])
    d += _ctpop(db[row, 1] ^ q[qi, 1])
    d += _ctpop(db[row, 2] ^ q[qi, 2])
    d += _ctpop(db[row, 3] ^ q[qi, 3])
    return np.int64(d)


@njit(cache=True, inline="always")
def _chunk(words, row, offset, width):
    """Bits ``offset .. offset + width`` (width <= 32) of one hash as an integer."""
    wi = offset >> 6
    shift = np.uint64(offset & 63)
    value = words[row, wi] >> shift
    if (offset & 63) + width > 64:
        value |= words[row, wi + 1] << np.uint64(64 - (offset & 63))
    return np.int64(value & np.uint64((1 << width) - 1))


@njit(cache=True, nogil=True)
def build_chunk_table(words, offset, width, rows_out, offsets_out):
    """Counting sort of all rows by one chunk's value into ``rows_out`` / ``offsets_out``."""
    n = words.shape[0]
    n_values = 1 << width
    counts = np.zeros(n_values + 1, dtype=np.int64)
    keys = np.empty(n, dtype=np.uint32)
    for i in range(n):
        k = _chunk(words, i, offset, width)
        keys[i] = k
        counts[k + 1] += 1
    for v in range(n_values):
        counts[v + 1] += counts[v]
    for v in range(n_values + 1):
        offsets_out[v] = counts[v]
    for i in range(n):
        k = keys[i]
        rows_out[counts[k]] = i
        counts[k] += 1


@njit(cache=True, inline="always")
def _grow(arr, size):
    bigger = np.empty(max(16, arr.shape[0] * 2), dtype=arr.dtype)
    bigger[:size] = arr[:size]
    return bigger


@njit(cache=True, inline="always")
def _reached_earlier(db, row, q, qi, chunk_off, chunk_width, c, r):
    """Whether a chunk before ``c`` is within ``r`` bits (so that chunk already reported it)."""
    for e in range(c):
        a = _chunk(db, row, chunk_off[e], chunk_width[e])
        b = _chunk(q, qi, chunk_off[e], chunk_width[e])
        if _ctpop(np.uint64(a ^ b)) <= r:
            return True
    return False


@njit(cache=True, nogil=True)
def _probe_buckets(offsets, chunk_off, chunk_width, chunk_base, masks, mask_count, q, qi):
    """Start, end and chunk of every bucket one query row probes.

    The loop only loads, with no data-dependent exits, so the CPU keeps many cache misses in
    flight: on tables far bigger than the cache that is what makes probing fast.
    """
    n_probes = 0
    for c in range(chunk_off.shape[0]):
        n_probes += mask_count[c]
    starts = np.empty(n_probes, dtype=np.int64)
    ends = np.empty(n_probes, dtype=np.int64)
    chunk_of = np.empty(n_probes, dtype=np.int64)
    p = 0
    for c in range(chunk_off.shape[0]):
        v = _chunk(q, qi, chunk_off[c], chunk_width[c])
        base = chunk_base[c]
        for mi in range(mask_count[c]):
            key = base + (v ^ masks[mi])
            starts[p] = offsets[key]
            ends[p] = offsets[key + 1]
            chunk_of[p] = c
            p += 1
    return starts, ends, chunk_of


@njit(cache=True, nogil=True)
def _gather_rows(rows, starts, ends, chunk_of):
    """Row numbers in the probed buckets, and the chunk whose probe found each."""
    total = 0
    for p in range(starts.shape[0]):
        total += ends[p] - starts[p]
    cand = np.empty(total, dtype=np.int64)
    cand_chunk = np.empty(total, dtype=np.int64)
    k = 0
    for p in range(starts.shape[0]):
        c = chunk_of[p]
        for j in range(starts[p], ends[p]):
            cand[k] = rows[c, j]
            cand_chunk[k] = c
            k += 1
    return cand, cand_chunk


@njit(cache=True, nogil=True)
def mih_search(db, rows, offsets, chunk_off, chunk_width, chunk_base, masks, mask_count, q, t, r):
    """All (query row, db row, distance) with distance <= ``t``, each pair once.

    ``masks`` holds every mask of popcount <= ``r`` in ascending order, so the masks that fit
    a chunk of width ``w`` are its first ``mask_count[c]`` entries. Three phases per query row
    (bucket bounds, row numbers, verification) keep each loop free of dependent loads.
    """
    size = 0
    out_q = np.empty(64, dtype=np.int64)
    out_row = np.empty(64, dtype=np.int64)
    out_d = np.empty(64, dtype=np.int64)
    for qi in range(q.shape[0]):
        starts, ends, chunk_of = _probe_buckets(
            offsets, chunk_off, chunk_width, chunk_base, masks, mask_count, q, qi
        )
        cand, cand_chunk = _gather_rows(rows, starts, ends, chunk_of)
        dist = np.empty(cand.shape[0], dtype=np.int64)
        q0, q1, q2, q3 = q[qi, 0], q[qi, 1], q[qi, 2], q[qi, 3]  # held in registers
        for k in range(cand.shape[0]):
            row = cand[k]
            d = _ctpop(db[row, 0] ^ q0) + _ctpop(db[row, 1] ^ q1)
            dist[k] = d + _ctpop(db[row, 2] ^ q2) + _ctpop(db[row, 3] ^ q3)
        for k in range(cand.shape[0]):
            if dist[k] > t:
                continue
            row = cand[k]
            c = cand_chunk[k]
            if c > 0 and _reached_earlier(db, row, q, qi, chunk_off, chunk_width, c, r):
                continue
            if size == out_q.shape[0]:
                out_q = _grow(out_q, size)
                out_row = _grow(out_row, size)
                out_d = _grow(out_d, size)
            out_q[size] = qi
            out_row[size] = row
            out_d[size] = dist[k]
            size += 1
    return out_q[:size], out_row[:size], out_d[:size]


@njit(cache=True, nogil=True)
def _scan_one(db, q, qi, t, hits, start):
    """Rows from ``start`` within ``t`` of query row ``qi`` into ``hits``, until it is full.

    Returns (hits found, row to resume from). A tight loop with the query in registers: about
    ten times faster than indexing the query array inside the loop.
    """
    q0, q1, q2, q3 = q[qi, 0], q[qi, 1], q[qi, 2], q[qi, 3]
    n = 0
    for row in range(start, db.shape[0]):
        d = _ctpop(db[row, 0] ^ q0) + _ctpop(db[row, 1] ^ q1)
        d += _ctpop(db[row, 2] ^ q2) + _ctpop(db[row, 3] ^ q3)
        if d <= t:
            hits[n] = row
            n += 1
            if n == hits.shape[0]:
                return n, row + 1
    return n, db.shape[0]


@njit(cache=True, nogil=True)
def linear_search(db, q, t):
    """Brute force over every row: the fallback for tiny tables and very large ``t``."""
    size = 0
    out_q = np.empty(64, dtype=np.int64)
    out_row = np.empty(64, dtype=np.int64)
    out_d = np.empty(64, dtype=np.int64)
    hits = np.empty(4096, dtype=np.int64)
    for qi in range(q.shape[0]):
        start = 0
        while start < db.shape[0]:
            n, start = _scan_one(db, q, qi, t, hits, start)
            for k in range(n):
                if size == out_q.shape[0]:
                    out_q = _grow(out_q, size)
                    out_row = _grow(out_row, size)
                    out_d = _grow(out_d, size)
                out_q[size] = qi
                out_row[size] = hits[k]
                out_d[size] = _distance(db, hits[k], q, qi)
                size += 1
    return out_q[:size], out_row[:size], out_d[:size]
