"""The fast PDQ index answers exactly what the brute-force reference answers.

Checked on uniform random hashes, on planted neighbours at every distance 0..t+1, on clustered
sets (many near-duplicates of the same picture), with every chunk layout the index may pick,
and with hypothesis-generated sets and thresholds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepdown.hashing.types import PdqHash
from keepdown.index import ChunkLayout, LinearPdqIndex, MihPdqIndex, pdq_words

from .conftest import clustered, flip, rows_of, uniform


def pdq(raw: np.ndarray) -> PdqHash:
    return PdqHash(raw.tobytes())


def pair_set(hits) -> set[tuple[int, int, int]]:
    return set(
        zip(hits.query_row.tolist(), hits.entry_id.tolist(), hits.distance.tolist(), strict=True)
    )


def assert_same(fast: MihPdqIndex, slow: LinearPdqIndex, queries: np.ndarray, t: int) -> int:
    words = pdq_words(queries)
    got = fast.search(words, t)
    want = slow.search(words, t)
    assert len(got.entry_id) == len(pair_set(got)), "a pair was reported twice"
    assert pair_set(got) == pair_set(want)
    return len(want.entry_id)


def planted_queries(raw: np.ndarray, t: int, rng: np.random.Generator, each: int = 3) -> np.ndarray:
    """For every distance 0..t+1, ``each`` queries at exactly that distance from a stored hash."""
    picks = rng.integers(0, len(raw), size=(t + 2) * each)
    return np.stack([flip(raw[i], k // each, rng) for k, i in enumerate(picks)])


LAYOUTS = [None, ChunkLayout.even(11), ChunkLayout.even(16), ChunkLayout.even(32)]


@pytest.fixture(scope="module")
def uniform_set():
    raw = uniform(30_000, seed=1)
    rows = rows_of(raw)
    return raw, LinearPdqIndex(rows), {str(lay): MihPdqIndex.build(rows, lay) for lay in LAYOUTS}


@pytest.mark.parametrize("layout", [str(lay) for lay in LAYOUTS])
@pytest.mark.parametrize("t", [0, 1, 10, 31, 47, 63])
def test_planted_neighbours_at_every_distance(uniform_set, layout, t, rng):
    raw, slow, fast = uniform_set
    queries = np.concatenate([planted_queries(raw, t, rng), uniform(20, seed=t)])
    found = assert_same(fast[layout], slow, queries, t)
    assert found >= 3 * (t + 1)  # every planted neighbour within t is among them


@pytest.mark.parametrize("t", [100, 256])
def test_large_thresholds_fall_back_to_a_scan_and_stay_exact(uniform_set, t, rng):
    raw, slow, fast = uniform_set
    assert_same(fast["None"], slow, raw[:3], t)


def test_clustered_set_of_near_duplicates(rng):
    raw = clustered(n_clusters=150, per_cluster=120, spread=24, seed=7)
    rows = rows_of(raw)
    slow = LinearPdqIndex(rows)
    centres_near = np.stack(
        [flip(raw[i], int(rng.integers(0, 40)), rng) for i in range(0, len(raw), 97)]
    )
    for layout in LAYOUTS:
        fast = MihPdqIndex.build(rows, layout)
        for t in (31, 45):
            assert assert_same(fast, slow, centres_near, t) > 100


def test_identical_hashes_in_several_banks_are_all_reported():
    raw = np.repeat(uniform(5_000, seed=3), 3, axis=0)
    rows = rows_of(raw)
    fast = MihPdqIndex.build(rows)
    hits = fast.search(pdq_words(raw[:1]), 0)
    assert sorted(hits.entry_id.tolist()) == [1000, 1001, 1002]
    assert sorted(hits.bank_id.tolist()) == [0, 1, 2]


@pytest.mark.slow
def test_two_hundred_thousand_rows_with_the_chosen_layout(rng):
    raw = uniform(200_000, seed=11)
    rows = rows_of(raw)
    fast = MihPdqIndex.build(rows)
    assert fast.layout is not None
    queries = np.concatenate([planted_queries(raw, 31, rng, each=1), uniform(10, seed=5)])
    assert assert_same(fast, LinearPdqIndex(rows), queries, 31) >= 32


def test_query_reports_best_variant_per_entry(uniform_set, rng):
    raw, slow, fast = uniform_set
    variants = np.stack([flip(raw[5], 20, rng), flip(raw[5], 3, rng), raw[9], flip(raw[5], 3, rng)])
    got = fast["None"].query(variants, 31)
    assert got == slow.query(variants, 31)
    by_id = {h.entry_id: (h.distance, h.variant) for h in got}
    assert by_id[1005] == (3, "1")  # the first of the two variants tied at distance 3
    assert by_id[1009] == (0, "2")
    named = dict(
        zip(["original", "rotate90", "rotate180", "flip_x"], map(pdq, variants), strict=True)
    )
    assert {h.entry_id: h.variant for h in fast["None"].query(named)} == {
        1005: "rotate90",
        1009: "rotate180",
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 600),
    t=st.integers(0, 70),
    n_variants=st.integers(1, 8),
    m=st.sampled_from([11, 12, 16, 20, 32]),
)
def test_hypothesis_random_sets_thresholds_and_layouts(seed, n, t, n_variants, m):
    rng = np.random.default_rng(seed)
    base = uniform(max(n // 20, 1), seed)
    raw = (
        np.stack([flip(base[i % len(base)], int(rng.integers(0, 60)), rng) for i in range(n)])
        if n
        else np.zeros((0, 32), np.uint8)
    )
    rows = rows_of(raw)
    queries = np.stack([flip(base[0], int(rng.integers(0, 60)), rng) for _ in range(n_variants)])
    fast = MihPdqIndex.build(rows, ChunkLayout.even(m)) if n else MihPdqIndex.build(rows)
    slow = LinearPdqIndex(rows)
    assert_same(fast, slow, queries, t)
    assert fast.query(queries, t) == slow.query(queries, t)
