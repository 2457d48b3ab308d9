"""Quarantine: a burst of matches far above an entry's baseline stops it acting alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from keepdown.clock import FrozenClock
from keepdown.events import EntryQuarantined
from keepdown.exchanges.quarantine import QuarantinePolicy, QuarantineStage
from keepdown.storage.quarantine_store import SqlQuarantineStore
from tests.exchanges.conftest import Feeds


@dataclass(frozen=True)
class View:
    """The fields of ``keepdown.matching`` match views a stage reads and sets."""

    bank: str
    entry_id: int
    signal_type: str = "md5"
    match_type: str = "exact"
    distance: int = 0
    trusted: bool = True
    review_only: bool = False
    review_why: str | None = None


@pytest.fixture
def entries(feeds: Feeds) -> dict[str, int]:
    from keepdown.banks.records import EntryRecord
    from keepdown.hashing.types import SignalType

    feeds.banks.create_bank("sncii", owner="operator")
    ids = {}
    for name, value in (("card", "11" * 16), ("scene", "22" * 16), ("usual", "33" * 16)):
        feeds.banks.add_entry("sncii", EntryRecord(SignalType.MD5, value))
        ids[name] = feeds.storage.banks.get_entry(
            feeds.storage.banks.get_bank("sncii").id, "md5", value
        ).id
    return ids


def stage(feeds: Feeds, clock: FrozenClock | None = None, **policy: int) -> QuarantineStage:
    return QuarantineStage(
        SqlQuarantineStore(feeds.storage.engine),
        feeds.storage.events,
        clock or feeds.clock,
        QuarantinePolicy(**{"min_matches": 50, "factor": 20, "window_seconds": 3600, **policy}),
        lambda: {"sncii": "StopNCII"},
    )


def test_a_burst_is_quarantined_at_the_threshold_and_then_goes_to_review(
    feeds: Feeds, entries
) -> None:
    watch = stage(feeds)
    card = View("sncii", entries["card"])
    scene = View("sncii", entries["scene"])
    outcomes = []
    for n in range(1, 61):
        (seen,) = watch.apply(None, [card])
        outcomes.append(seen.review_only)
        if n % 10 == 0:
            assert watch.apply(None, [scene]) == [scene]  # a genuine match, now and then
    assert outcomes.index(True) == 49  # the 50th match quarantined it: it goes to review
    assert outcomes[49:] == [True] * 11
    why = watch.apply(None, [card])[0].review_why
    assert why is not None
    assert "50 matches in 1 h, usually 0.0 (threshold 50)" in why
    (event,) = list(feeds.storage.events.read("entry_quarantined"))
    assert isinstance(event, EntryQuarantined)
    assert (event.entry_id, event.matches, event.threshold, event.source) == (
        entries["card"],
        50,
        50,
        "StopNCII",
    )
    assert watch.apply(None, [scene])[0].review_only is False


def test_an_entry_that_usually_matches_a_lot_has_a_higher_threshold(feeds: Feeds, entries) -> None:
    store = SqlQuarantineStore(feeds.storage.engine)
    policy = QuarantinePolicy(min_matches=50, factor=20, window_seconds=3600, baseline_days=1)
    now_bucket = policy.bucket(feeds.clock.now())
    # 120 matches an hour for the last day: the baseline is 120 per window.
    store.add_counts({(entries["usual"], now_bucket - 60 * h - 1): 120 for h in range(1, 24)})
    watch = stage(feeds, baseline_days=1)
    usual = View("sncii", entries["usual"])
    for _ in range(200):
        assert not watch.apply(None, [usual])[0].review_only  # 200 < 20 x the baseline
    assert store.active() == {}


def test_matches_add_up_across_processes(feeds: Feeds, entries) -> None:
    one, two = stage(feeds), stage(feeds)
    card = View("sncii", entries["card"])
    for _ in range(30):
        one.apply(None, [card])
        two.apply(None, [card])
    assert SqlQuarantineStore(feeds.storage.engine).active() == {}
    one.refresh()  # each process writes its counts and reads everyone's
    two.refresh()
    assert two.apply(None, [card])[0].review_only  # 61 >= 50: quarantined now
    assert entries["card"] in SqlQuarantineStore(feeds.storage.engine).active()
    one.refresh()
    assert one.apply(None, [card])[0].review_only


def test_a_lifted_quarantine_needs_a_new_burst(feeds: Feeds, entries) -> None:
    watch = stage(feeds)
    card = View("sncii", entries["card"])
    for _ in range(50):
        watch.apply(None, [card])
    store = SqlQuarantineStore(feeds.storage.engine)
    store.lift(entries["card"], "ana", "a test card: benign", feeds.clock.now())
    feeds.clock.advance(timedelta(minutes=1))
    watch.refresh()
    for _ in range(49):
        assert not watch.apply(None, [card])[0].review_only
    watch.refresh()
    assert watch.apply(None, [card])[0].review_only  # the 50th since the lift: quarantined
    (lifted,) = [q for q in store.quarantines() if q.state == "lifted"]
    assert lifted.lifted_by == "ana"
    assert lifted.note == "a test card: benign"


def test_banks_not_watched_are_not_counted(feeds: Feeds, entries) -> None:
    watch = stage(feeds)
    other = View("ours", entries["card"])
    for _ in range(100):
        watch.apply(None, [other])
    watch.refresh()
    assert SqlQuarantineStore(feeds.storage.engine).window_counts(0) == {}
