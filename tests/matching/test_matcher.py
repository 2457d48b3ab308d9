"""match_hashes: exact and near matches, per-bank thresholds, disabled banks, quality floor."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from keepdown.errors import InvalidHash
from keepdown.hashing.types import Md5, PdqHash, Sha256, SignalType
from keepdown.index import IndexEntry, IndexSnapshot
from keepdown.matching import BankPolicy, ContentHashes, Match, Verdict, match_hashes, verdict
from keepdown.testing import flip_bits, random_pdq_hex


@dataclass
class Policy:
    id: int
    name: str
    enabled: bool = True
    trusted: bool = False
    thresholds: dict[str, int] = field(default_factory=dict)
    robust: bool = False

    def threshold(self, signal_type: str, default: int = 31) -> int:
        return self.thresholds.get(signal_type, default if signal_type == "pdq" else 0)


RNG = random.Random(5)
BASE = random_pdq_hex(RNG)
AT = {d: PdqHash.from_hex(flip_bits(BASE, d, RNG)) for d in (0, 10, 20, 31, 32)}
MD5 = Md5.from_hex("0" * 31 + "1")
SHA = Sha256.from_hex("ab" * 32)


@pytest.fixture
def snapshot() -> IndexSnapshot:
    return IndexSnapshot.build(
        [
            IndexEntry(1, 10, PdqHash.from_hex(BASE)),
            IndexEntry(2, 20, PdqHash.from_hex(BASE)),
            IndexEntry(3, 30, PdqHash.from_hex(BASE)),
            IndexEntry(4, 10, MD5),
            IndexEntry(5, 30, SHA),
        ]
    )


BANKS = {
    10: Policy(10, "trusted", trusted=True),
    20: Policy(20, "strict", thresholds={"pdq": 10}),
    30: Policy(30, "off", enabled=False),
}


def test_policy_double_satisfies_the_protocol():
    assert isinstance(BANKS[10], BankPolicy)


def test_each_bank_applies_its_own_threshold(snapshot):
    got = match_hashes(ContentHashes(pdq=AT[20], quality=90), snapshot, BANKS)
    assert got == [Match(1, 10, SignalType.PDQ, 20, "original", "near")]
    got = match_hashes(ContentHashes(pdq=AT[10], quality=90), snapshot, BANKS.values())
    assert [(m.entry_id, m.distance) for m in got] == [(1, 10), (2, 10)]


def test_threshold_boundary_31_matches_and_32_does_not(snapshot):
    assert [m.entry_id for m in match_hashes(ContentHashes(pdq=AT[31]), snapshot, BANKS)] == [1]
    assert match_hashes(ContentHashes(pdq=AT[32]), snapshot, BANKS) == []


def test_disabled_and_unknown_banks_never_match(snapshot):
    got = match_hashes(ContentHashes(pdq=AT[0], sha256=SHA), snapshot, {10: BANKS[10]})
    assert {m.bank_id for m in got} == {10}


def test_quality_below_the_floor_skips_pdq_but_not_exact_hashes(snapshot):
    hashes = ContentHashes(pdq=AT[0], quality=49, md5=MD5)
    got = match_hashes(hashes, snapshot, BANKS)
    assert got == [Match(4, 10, SignalType.MD5, 0, None, "exact")]
    assert len(match_hashes(hashes, snapshot, BANKS, quality_floor=40)) == 3


def test_dihedral_variant_reports_which_one_matched(snapshot):
    other = PdqHash.from_hex(random_pdq_hex(RNG))
    hashes = ContentHashes(pdq=other, quality=80, dihedral={"rotate90": AT[10], "flip_x": AT[20]})
    got = match_hashes(hashes, snapshot, BANKS)
    assert {(m.entry_id, m.distance, m.variant) for m in got} == {
        (1, 10, "rotate90"),
        (2, 10, "rotate90"),
    }


def test_verdict_confirms_only_exact_matches_in_trusted_banks(snapshot):
    exact = match_hashes(ContentHashes(md5=MD5), snapshot, BANKS)
    assert verdict(exact, BANKS) is Verdict.CONFIRMED
    near = match_hashes(ContentHashes(pdq=AT[0]), snapshot, BANKS)
    assert verdict(near, BANKS) is Verdict.REVIEW
    assert verdict([], BANKS) is Verdict.NO_MATCH


def test_from_result_reads_hash_result_like_objects(snapshot):
    @dataclass
    class Variant:
        hash: PdqHash

    @dataclass
    class Result:
        pdq: PdqHash
        quality: int
        dihedral: dict
        md5: Md5

    hashes = ContentHashes.from_result(Result(AT[32], 70, {"flip_y": Variant(AT[0])}, MD5))
    got = match_hashes(hashes, snapshot, BANKS)
    assert [(m.entry_id, m.variant, m.match_type) for m in got] == [
        (4, None, "exact"),
        (1, "flip_y", "near"),
        (2, "flip_y", "near"),
    ]


def test_non_pdq_dihedral_value_is_refused(snapshot):
    with pytest.raises(InvalidHash):
        match_hashes(ContentHashes(pdq=AT[0], dihedral={"x": MD5}), snapshot, BANKS)
