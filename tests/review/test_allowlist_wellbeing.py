"""The allow-list filter and the break reminder (pure logic, with real hashes)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from keepdown.hashing import hash_bytes
from keepdown.hashing.types import PdqHash
from keepdown.matching.chain import MatchQuery
from keepdown.review import AllowEntry, AllowListFilter, Prefs, break_due
from keepdown.testing import FrozenClock, flip_bits, synthetic_jpeg, utc


@dataclass(frozen=True)
class View:
    entry_id: int
    distance: int
    bank: str = "known"


def _entry(sha: str, pdq: str | None, entry_id: int | None = 7) -> AllowEntry:
    return AllowEntry(1, sha, pdq, "known", entry_id, 1, "alice", utc(2026, 1, 1))


def test_same_file_is_dropped_for_its_entry_only() -> None:
    result = hash_bytes(synthetic_jpeg(3))
    allow = AllowListFilter(lambda: [_entry(result.sha256.hex, result.pdq.hex)])
    kept = allow.apply(MatchQuery.of_result(result), [View(7, 20), View(8, 20)])
    assert kept == [View(8, 20)]


def test_a_near_copy_of_the_candidate_is_dropped_but_not_one_nearer_the_entry() -> None:
    rng = random.Random(4)
    candidate = hash_bytes(synthetic_jpeg(3)).pdq.hex
    allow = AllowListFilter(lambda: [_entry("0" * 64, candidate)], pdq_distance=8)
    near_candidate = PdqHash.from_hex(flip_bits(candidate, 4, rng))
    far = PdqHash.from_hex(flip_bits(candidate, 30, rng))
    assert allow.apply(MatchQuery(pdqs=(near_candidate,)), [View(7, 20)]) == []
    # Within 8 of the candidate, but nearer the entry (distance 2): a copy of the entry.
    assert allow.apply(MatchQuery(pdqs=(near_candidate,)), [View(7, 2)]) == [View(7, 2)]
    assert allow.apply(MatchQuery(pdqs=(far,)), [View(7, 20)]) == [View(7, 20)]


def test_the_list_is_reread_after_refresh_seconds() -> None:
    clock = FrozenClock(utc(2026, 1, 1))
    entries: list[AllowEntry] = []
    allow = AllowListFilter(lambda: list(entries), refresh_seconds=5, clock=clock)
    result = hash_bytes(synthetic_jpeg(5))

    def match(result: object) -> list[View]:
        return allow.apply(MatchQuery.of_result(result), [View(7, 20)])

    assert match(result) == [View(7, 20)]
    entries.append(_entry(result.sha256.hex, None))
    assert match(result) == [View(7, 20)]  # cached
    clock.advance(6)
    assert match(result) == []


def test_break_is_due_after_reviews_or_minutes() -> None:
    start = utc(2026, 1, 1, 9)
    prefs = Prefs(break_after_reviews=10, break_after_minutes=45)
    assert not break_due(prefs, reviews=9, since=start, now=start + timedelta(minutes=44)).due
    by_count = break_due(prefs, reviews=10, since=start, now=start)
    assert by_count.due
    assert by_count.by_reviews
    assert not by_count.by_minutes
    assert break_due(prefs, reviews=0, since=start, now=start + timedelta(minutes=45)).by_minutes
    never = Prefs(break_after_reviews=0, break_after_minutes=0)
    assert not break_due(never, reviews=500, since=start, now=start + timedelta(days=1)).due
