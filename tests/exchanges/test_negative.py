"""Negative banks scoped to sources: a benign picture's hash silences the named feeds only."""

from __future__ import annotations

import random

import pytest

from keepdown.banks.records import EntryRecord
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.exchanges.negative import NegativeStage
from keepdown.hashing.types import PdqHash, SignalType
from keepdown.matching.live import BankIndex
from keepdown.storage.index_feed import IndexFeed
from keepdown.storage.quarantine_store import SqlNegativeStore
from keepdown.testing import flip_bits
from tests.exchanges.conftest import Feeds, pdq_hex


class Query:
    def __init__(self, pdq: str | None = None, sha256: str | None = None) -> None:
        self.pdqs = (PdqHash.from_hex(pdq),) if pdq else ()
        self.sha256 = sha256


@pytest.fixture
def world(feeds: Feeds):
    """A StopNCII feed and a hotline bank holding the same benign-looking PDQ, and a negative
    bank holding a near copy of it scoped to the feed only."""
    rng = random.Random(4)
    meme, other = pdq_hex(rng), pdq_hex(rng)
    for bank in ("sncii", "hotline", "benign"):
        feeds.banks.create_bank(bank, owner="operator")
    feeds.banks.add_entry("sncii", EntryRecord(SignalType.PDQ, meme))
    feeds.banks.add_entry("sncii", EntryRecord(SignalType.PDQ, other))
    feeds.banks.add_entry("hotline", EntryRecord(SignalType.PDQ, meme))
    feeds.banks.add_entry("benign", EntryRecord(SignalType.PDQ, flip_bits(meme, 4, rng)))
    feeds.banks.add_entry("benign", EntryRecord(SignalType.SHA256, "ab" * 32))
    store = SqlNegativeStore(feeds.storage.engine)
    store.make_negative("benign", ["sncii"], "admin", feeds.clock.now())
    index = BankIndex(
        IndexFeed(feeds.storage.engine), feeds.storage.banks.list_banks, background=False
    )
    index.refresh()
    return index, NegativeStage(store, lambda: index.snapshot), meme, other, rng


def test_the_scope_is_silenced_and_nothing_else(feeds: Feeds, world) -> None:
    index, stage, meme, other, rng = world
    upload = flip_bits(meme, 2, rng)  # a re-encoding of the benign picture
    (matches,) = index.match_hashes([PdqHash.from_hex(upload)])
    assert {m.bank for m in matches} == {"sncii", "hotline"}  # the negative bank is never a match
    kept = stage.apply(Query(upload), matches)
    assert {m.bank for m in kept} == {"hotline"}
    (matches,) = index.match_hashes([PdqHash.from_hex(other)])
    assert stage.apply(Query(other), matches) == matches  # the feed's other entries still match


def test_an_exact_negative_hash_silences_by_sha256(feeds: Feeds, world) -> None:
    index, stage, meme, _other, _rng = world
    (matches,) = index.match_hashes([PdqHash.from_hex(meme)])
    assert {m.bank for m in stage.apply(Query(meme, sha256="ab" * 32), matches)} == {"hotline"}
    assert {m.bank for m in stage.apply(Query(None, sha256="cd" * 32), matches)} == {
        "sncii",
        "hotline",
    }


def test_a_negative_bank_is_not_matched_even_when_enabled_again(feeds: Feeds, world) -> None:
    index, stage, meme, _other, _rng = world
    feeds.banks.set_enabled("benign", True)  # someone turns it back on by mistake
    index.refresh()
    (matches,) = index.match_hashes([PdqHash.from_hex(meme)])
    assert "benign" in {m.bank for m in matches}
    assert "benign" not in {m.bank for m in stage.apply(Query(meme), matches)}


def test_scopes_are_checked(feeds: Feeds, world) -> None:
    store = SqlNegativeStore(feeds.storage.engine)
    with pytest.raises(InvalidInput):
        store.make_negative("hotline", [], "admin", feeds.clock.now())
    with pytest.raises(NotFound):
        store.make_negative("hotline", ["nope"], "admin", feeds.clock.now())
    with pytest.raises(InvalidInput):
        store.make_negative("hotline", ["hotline"], "admin", feeds.clock.now())
    with pytest.raises(Conflict):
        store.make_negative("hotline", ["benign"], "admin", feeds.clock.now())
