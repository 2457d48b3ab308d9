"""``benchmarks/robustness.py --choose``: which robust variants are worth their lookup.

Each candidate of :data:`keepdown.hashing.robust.CATALOGUE` is measured on every query; then,
greedily, the variant that finds the most queries not found yet (plain matching and the trims
come first, for free) is taken, each edit weighted alike so that the many crop variants do not
win on the crop rows alone, until ``--budget`` variants are taken. Printed: each pick with the
queries it adds per edit, and every candidate's own rate on the edits it helps most.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["choose"]


def choose(
    found: list,
    bank_bits: np.ndarray,
    budget: int,
    threshold: int,
    distances: Callable[[list[bytes], np.ndarray], np.ndarray],
) -> list[str]:
    edits = sorted({q.edit for q in found})
    per_edit = {e: sum(q.edit == e for q in found) for e in edits}
    base = np.array(
        [
            _hit(
                q,
                q.plain + [h for n, h in q.variants.items() if n.startswith("trim")],
                bank_bits,
                threshold,
                distances,
            )
            for q in found
        ]
    )
    names = sorted({n for q in found for n in q.variants if not n.startswith("trim")})
    hits = {
        n: np.array(
            [
                _hit(q, [q.variants[n]] if n in q.variants else [], bank_bits, threshold, distances)
                for q in found
            ]
        )
        for n in names
    }
    weight = np.array([1.0 / per_edit[q.edit] for q in found])
    covered = base.copy()
    chosen: list[str] = []
    print(f"\nplain + trims find {base.mean() * 100:.1f}% of {len(found)} queries")
    for _ in range(budget):
        gains = {
            n: float((weight * (h & ~covered)).sum()) for n, h in hits.items() if n not in chosen
        }
        best = max(gains, key=lambda n: gains[n]) if gains else None
        if best is None or gains[best] <= 0:
            break
        new = hits[best] & ~covered
        by_edit = {
            e: int(sum(1 for q, x in zip(found, new, strict=True) if x and q.edit == e))
            for e in edits
        }
        shown = ", ".join(f"{e} +{c}" for e, c in by_edit.items() if c)
        print(f"  + {best}: {gains[best]:.2f} edits' worth ({shown})")
        covered |= hits[best]
        chosen.append(best)
    print("\nrate per edit after the picks:")
    for e in edits:
        rows = [i for i, q in enumerate(found) if q.edit == e]
        before, after = base[rows].mean() * 100, covered[rows].mean() * 100
        print(f"  {e}: plain+trim {before:.0f}% -> {after:.0f}%")
    print("\nchosen: " + ", ".join(chosen))
    return chosen


def _hit(query, hashes: list[bytes], bank_bits, threshold, distances) -> bool:
    if not hashes:
        return False
    near = distances(hashes, bank_bits)[:, query.original] <= threshold
    return bool(near.any())
