"""``near (robust)`` matches: found only through a robust query variant, on opted-in banks,
always for review; and a cropped benign copy found end to end from its bytes."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image

from benchmarks.scenes import scene_image
from keepdown.hashing import hash_bytes
from keepdown.hashing.pdq import pdq_from_rgb
from keepdown.hashing.types import PdqHash, Sha256, SignalType
from keepdown.index import IndexEntry, IndexSnapshot
from keepdown.matching import ContentHashes, Match, Verdict, match_hashes, verdict
from keepdown.matching.matcher import ROBUST
from keepdown.testing import flip_bits, random_pdq_hex
from tests.matching.test_matcher import Policy

RNG = random.Random(11)
BASE = random_pdq_hex(RNG)
FAR = PdqHash.from_hex(flip_bits(BASE, 90, RNG))  # the query as it is: nowhere near
NEAR = {d: PdqHash.from_hex(flip_bits(BASE, d, RNG)) for d in (5, 12, 20, 28)}
SHA = Sha256.from_hex("cd" * 32)


@pytest.fixture
def snapshot() -> IndexSnapshot:
    base = PdqHash.from_hex(BASE)
    return IndexSnapshot.build(
        [IndexEntry(1, 10, base), IndexEntry(2, 20, base), IndexEntry(3, 30, SHA)]
    )


BANKS = {
    10: Policy(10, "opted", trusted=True, robust=True),
    20: Policy(20, "plain", trusted=True),
    30: Policy(30, "exact", trusted=True, robust=True),
}


def query(*, plain: PdqHash = FAR, quality: int = 90, **robust: tuple[PdqHash, int]):
    return ContentHashes(pdq=plain, quality=quality, robust=robust, sha256=None)


def test_a_robust_variant_finds_only_banks_that_opted_in(snapshot):
    got = match_hashes(query(trim=(NEAR[12], 80)), snapshot, BANKS)
    assert got == [Match(1, 10, SignalType.PDQ, 12, "trim", ROBUST)]
    assert ROBUST == "near (robust)"
    assert match_hashes(query(trim=(NEAR[12], 80)), snapshot, {20: BANKS[20]}) == []


def test_the_closest_variant_is_named(snapshot):
    got = match_hashes(
        query(**{"uncrop-x5": (NEAR[20], 80), "turn+2-crop": (NEAR[5], 80)}), snapshot, BANKS
    )
    assert [(m.distance, m.variant) for m in got] == [(5, "turn+2-crop")]


def test_a_plain_match_wins_over_a_closer_robust_one(snapshot):
    got = match_hashes(query(plain=NEAR[28], trim=(NEAR[5], 80)), snapshot, BANKS)
    assert {(m.entry_id, m.match_type, m.distance) for m in got} == {
        (1, "near", 28),
        (2, "near", 28),
    }


def test_robust_variants_respect_the_quality_floor_and_the_distance_cap(snapshot):
    assert match_hashes(query(trim=(NEAR[12], 40)), snapshot, BANKS) == []
    capped = match_hashes(query(trim=(NEAR[20], 80)), snapshot, BANKS, robust_max_distance=16)
    assert capped == []
    strict = {10: Policy(10, "opted", robust=True, thresholds={"pdq": 10})}
    assert match_hashes(query(trim=(NEAR[12], 80)), snapshot, strict) == []


def test_robust_variants_of_a_low_quality_picture_still_count(snapshot):
    """The picture as it is may be too plain (a letterbox is flat) while its trim is not."""
    got = match_hashes(query(quality=20, trim=(NEAR[5], 90)), snapshot, BANKS)
    assert [m.match_type for m in got] == [ROBUST]


def test_a_robust_match_never_confirms_even_in_a_trusted_bank(snapshot):
    got = match_hashes(query(trim=(NEAR[5], 80)), snapshot, BANKS)
    assert verdict(got, BANKS) is Verdict.REVIEW
    exact = match_hashes(ContentHashes(sha256=SHA), snapshot, BANKS)
    assert verdict(exact + got, BANKS) is Verdict.CONFIRMED


def test_order_is_exact_near_then_robust(snapshot):
    both = ContentHashes(pdq=FAR, quality=90, sha256=SHA, robust={"trim": (NEAR[5], 80)})
    assert [m.match_type for m in match_hashes(both, snapshot, BANKS)] == ["exact", ROBUST]


def test_a_non_pdq_robust_value_is_refused(snapshot):
    from keepdown.errors import InvalidHash

    with pytest.raises(InvalidHash, match="robust variant"):
        match_hashes(query(trim=(SHA, 80)), snapshot, BANKS)  # type: ignore[arg-type]


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_a_cropped_benign_copy_is_found_as_near_robust():
    """A generated scene is the "known" picture; a copy cropped by 2.5% on each side (5% of
    each dimension) is missed by PDQ and found through the un-crop variant."""
    found = 0
    for seed in (2, 4, 6):
        original = scene_image(seed, 640, 480)
        entry = pdq_from_rgb(np.asarray(original)).hash
        snapshot = IndexSnapshot.build([IndexEntry(7, 10, entry)])
        w, h = original.size
        copy = _jpeg(original.crop((16, 12, w - 16, h - 12)))
        plain = hash_bytes(copy, dihedral=True)
        assert match_hashes(ContentHashes.from_result(plain), snapshot, BANKS) == []
        result = hash_bytes(copy, dihedral=True, robust=True)
        got = match_hashes(ContentHashes.from_result(result), snapshot, BANKS)
        if got:
            assert [m.match_type for m in got] == [ROBUST]
            assert got[0].variant is not None
            assert got[0].variant.startswith("uncrop")
            found += 1
    assert found >= 2
