"""Hash sets for index tests: uniform, planted neighbours at given distances, and clusters."""

from __future__ import annotations

import numpy as np
import pytest

from keepdown.index import PdqRows


def flip(raw: np.ndarray, n_bits: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of one 32-byte hash with exactly ``n_bits`` distinct bits flipped."""
    out = raw.copy()
    for bit in rng.choice(256, size=n_bits, replace=False):
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def uniform(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32), dtype=np.uint8)


def clustered(n_clusters: int, per_cluster: int, spread: int, seed: int) -> np.ndarray:
    """Many near-duplicates of a few pictures, as real banks have (each within ``spread``)."""
    rng = np.random.default_rng(seed)
    centres = uniform(n_clusters, seed + 1)
    return np.stack(
        [
            flip(c, int(rng.integers(0, spread + 1)), rng)
            for c in centres
            for _ in range(per_cluster)
        ]
    )


def rows_of(raw: np.ndarray, first_id: int = 1000) -> PdqRows:
    n = len(raw)
    return PdqRows.from_arrays(raw, np.arange(first_id, first_id + n), np.arange(n) % 3)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
