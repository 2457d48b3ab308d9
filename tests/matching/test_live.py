"""BankIndex over real storage: agrees with brute force and follows bank changes (no rebuild)."""

from __future__ import annotations

import random

from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.clock import FrozenClock, utc
from keepdown.hashing.types import Md5, PdqHash, SignalType
from keepdown.matching.live import BankIndex
from keepdown.matching.matcher import ContentHashes
from keepdown.storage.index_feed import IndexFeed
from keepdown.testing import flip_bits, random_pdq_hex


def _index(storage) -> BankIndex:
    index = BankIndex(IndexFeed(storage.engine), storage.banks.list_banks, compact_after=5)
    index.refresh()
    return index


def _brute(
    bank_values: dict[str, list[str]], query: str, limits: dict[str, int]
) -> set[tuple[str, str]]:
    q = PdqHash.from_hex(query)
    return {
        (bank, value)
        for bank, values in bank_values.items()
        for value in values
        if q - PdqHash.from_hex(value) <= limits[bank]
    }


def test_matches_equal_brute_force_and_follow_adds_removals_and_settings(storage) -> None:
    rng = random.Random(7)
    clock = FrozenClock(utc(2026, 5, 1))
    service = BankService(storage.banks, storage.events, clock)
    limits = {"tight": 8, "loose": 31}
    for name, t in limits.items():
        service.create_bank(name, owner="test", trust="auto", thresholds={"pdq": t})
    base = random_pdq_hex(rng)
    values: dict[str, list[str]] = {"tight": [], "loose": []}
    for i in range(24):  # near-duplicates of one picture at every distance, split over banks
        bank = "tight" if i % 2 else "loose"
        value = flip_bits(base, i * 2 % 40, rng)
        values[bank].append(value)
        service.add_entry(bank, EntryRecord(SignalType.PDQ, value))
    service.add_entry("tight", EntryRecord(SignalType.MD5, "0" * 31 + "1"))
    index = _index(storage)

    for _ in range(20):
        query = flip_bits(base, rng.randint(0, 24), rng)
        views = index.match_content(ContentHashes(pdq=PdqHash.from_hex(query), quality=100))
        got = sorted((v.bank, v.distance) for v in views)
        want = sorted(
            (bank, query_distance(query, value)) for bank, value in _brute(values, query, limits)
        )
        assert got == want
        batch = index.match_hashes([PdqHash.from_hex(query)])[0]
        assert sorted((v.bank, v.distance) for v in batch) == want

    exact = index.match_hashes([Md5.from_hex("0" * 31 + "1")])
    assert [(v.bank, v.match_type) for v in exact[0]] == [("tight", "exact")]

    # A delta: new entries are matchable after refresh, removed ones vanish, no full reload.
    version = index.snapshot.version
    newcomer = random_pdq_hex(rng)
    service.add_entry("loose", EntryRecord(SignalType.PDQ, newcomer))
    service.remove_entry("loose", "pdq", values["loose"][0], reason="false-positive")
    assert index.refresh() is True
    assert index.snapshot.version > version
    hit = index.match_hashes([PdqHash.from_hex(newcomer)])[0]
    assert [(v.bank, v.distance, v.match_type) for v in hit] == [("loose", 0, "near")]
    gone = index.match_hashes([PdqHash.from_hex(values["loose"][0])])[0]
    assert all(v.distance != 0 or v.bank != "loose" for v in gone)

    # Past ``compact_after`` added rows the deltas fold into a new main part; answers stay.
    batch = [random_pdq_hex(rng) for _ in range(7)]
    for value in batch:
        service.add_entry("tight", EntryRecord(SignalType.PDQ, value))
    assert index.refresh() is True
    hits = index.match_hashes([PdqHash.from_hex(v) for v in [*batch, newcomer]])
    assert [[(v.bank, v.distance) for v in h if v.distance == 0] for h in hits] == [
        [("tight", 0)]
    ] * 7 + [[("loose", 0)]]

    # Disabling a bank takes effect on the next refresh (bank settings are re-read on every
    # refresh, so this holds with a frozen clock too).
    service.set_enabled("loose", False)
    assert index.refresh() is True
    assert all(v.bank == "tight" for v in index.match_hashes([PdqHash.from_hex(newcomer)])[0])
    assert index.refresh() is False  # nothing moved


def query_distance(a: str, b: str) -> int:
    return PdqHash.from_hex(a) - PdqHash.from_hex(b)


def test_the_pdq_default_is_the_matchers_policy(storage) -> None:
    """A bank without a PDQ threshold of its own matches within the index's ``pdq_threshold``
    (the ``pdq_match_threshold`` setting); a bank's own threshold wins over it."""
    rng = random.Random(11)
    service = BankService(storage.banks, storage.events, FrozenClock(utc(2026, 5, 1)))
    service.create_bank("plain", owner="test", trust="auto")
    service.create_bank("own", owner="test", trust="auto", thresholds={"pdq": 30})
    base = random_pdq_hex(rng)
    for bank in ("plain", "own"):
        service.add_entry(bank, EntryRecord(SignalType.PDQ, base))
    index = BankIndex(IndexFeed(storage.engine), storage.banks.list_banks, pdq_threshold=24)
    index.refresh()
    for distance, want in ((24, {"plain", "own"}), (25, {"own"}), (31, set())):
        query = PdqHash.from_hex(flip_bits(base, distance, rng))
        views = index.match_content(ContentHashes(pdq=query, quality=100))
        assert {v.bank for v in views} == want, distance
        assert {v.bank for v in index.match_hashes([query])[0]} == want, distance
