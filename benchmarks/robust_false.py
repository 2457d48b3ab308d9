"""False matches and cost for ``benchmarks/robustness.py``.

- :func:`false_matches`: every pipeline on the distractors, against the bank.
- :func:`random_index`: keepdown's index of N random PDQ hashes plus the bank; every hash
  looked up in the run is searched in it, and any hit on a random entry is a false match.
- :func:`cost`: this thread's CPU time for a normal match (decode, PDQ with its 8 rotations
  and mirrors, one batched index search) against an expanded one (the same plus the robust
  variants, in the same single search), per picture, on JPEG q90 bytes of the originals.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import numpy as np

from keepdown.hashing import hash_bytes
from keepdown.index import IndexEntry, IndexSnapshot
from keepdown.index.protocol import pdq_words
from keepdown.index.rows import PdqRows
from keepdown.settings import load_settings

__all__ = ["cost", "false_matches", "random_index"]


def false_matches(
    distractors: list,
    bank_bits: np.ndarray,
    names: tuple[str, ...],
    pipeline_hashes: Callable,
    matched: Callable,
    pipelines: tuple[str, ...],
) -> None:
    print(
        f"\nfalse matches among {len(distractors)} unrelated benign distractors "
        f"(bank of {len(bank_bits)} originals, distance 31):"
    )
    for p in pipelines:
        hits = sum(len(matched(q, pipeline_hashes(q, p, names), bank_bits)) for q in distractors)
        looked = sum(len(pipeline_hashes(q, p, names)) for q in distractors)
        print(f"  {p}: {hits} false matches ({looked} hashes looked up)")


def random_index(size: float, bank: list, seed: int) -> IndexSnapshot:
    n = int(size)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    rows = PdqRows.from_arrays(raw, np.arange(1, n + 1, dtype=np.int64), np.ones(n, np.int64))
    entries = [IndexEntry(n + i + 1, 2, r.hash) for i, r in enumerate(bank)]
    snapshot = IndexSnapshot.from_parts(rows).with_changes(entries, [])
    print(
        f"\nindex of {n:,} random PDQ hashes + {len(bank)} bank entries built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return snapshot


def search(snapshot: IndexSnapshot, hashes: list[bytes]):
    raw = np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, 32)
    return snapshot.search_pdq(pdq_words(raw), 31)


def cost(snapshot: IndexSnapshot, pictures: list, everything: list[bytes], n: int) -> None:
    found = search(snapshot, everything) if everything else None
    random_hits = int((found.bank_id == 1).sum()) if found is not None else 0
    print(
        f"hits on the {len(everything):,} hashes looked up (queries and distractors, every "
        f"variant): {random_hits} on random entries (false matches)"
    )
    settings = load_settings()
    ratios, normal_total, robust_total = [], 0.0, 0.0
    for picture in pictures[:n]:
        buf = io.BytesIO()
        picture.save(buf, "JPEG", quality=90)
        data = buf.getvalue()
        normal = _timed(lambda d=data: _match(snapshot, d, settings, False))
        robust = _timed(lambda d=data: _match(snapshot, d, settings, True))
        normal_total += normal
        robust_total += robust
        ratios.append(robust / normal)
    r = np.array(ratios)
    print(
        f"\nCPU per match on {len(r)} originals as JPEG q90 (this thread, best of 3): normal "
        f"{1e3 * normal_total / len(r):.2f} ms, expanded {1e3 * robust_total / len(r):.2f} ms; "
        f"ratio total {robust_total / normal_total:.2f}x, median {np.median(r):.2f}x, "
        f"p90 {np.percentile(r, 90):.2f}x, max {r.max():.2f}x (bound 3x)"
    )


def _match(snapshot: IndexSnapshot, data: bytes, settings, robust: bool) -> None:
    result = hash_bytes(data, settings=settings, dihedral=True, robust=robust)
    hashes = [r.hash.raw for r in (result.dihedral or {}).values()]
    hashes += [r.hash.raw for r in (result.robust or {}).values()]
    search(snapshot, hashes)


def _timed(call: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.thread_time()
        call()
        best = min(best, time.thread_time() - start)
    return best
