"""Feed flows: adding with checks, updating, resync, and skipping past a stalled page."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from keepdown.errors import Conflict, InvalidInput, UsageError
from keepdown.exchanges.fakes import FakeNcmec, FakeStopNcii, NcmecEntry, StopNciiHash
from keepdown.exchanges.model import FeedStatus
from keepdown.exchanges.service import FeedService
from tests.exchanges.conftest import EPOCH, SECRETS, Feeds, md5_hex, pdq_hex


def service(feeds: Feeds) -> FeedService:
    return FeedService(feeds.store, feeds.banks, feeds.clock)


def test_adding_a_feed_makes_its_bank(feeds: Feeds) -> None:
    feed = service(feeds).add(
        "ncmec-industry",
        "ncmec",
        owner="operator",
        url="https://report.cybertip.org/hashsharing",
        secrets=SECRETS["ncmec"],
        options={"members": "42,43"},
        label="csam",
        trust="auto",
    )
    bank = feeds.storage.banks.get_bank("ncmec-industry")
    assert bank.trusted
    assert bank.source == "ncmec feed (https://report.cybertip.org/hashsharing)"
    details = service(feeds).details("ncmec-industry").to_dict()
    assert details["status"] == "idle"
    assert details["secrets"] == {
        "username": "$NCMEC_USER",
        "password": "$NCMEC_PASSWORD",
    }
    assert feed.options == {"members": "42,43"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "hashbank"}, "feed kind"),
        ({"options": {"page_sise": 10}}, "unknown option"),
        ({"options": {"page_size": "many"}}, "expected int"),
        ({"secrets": {"subscription_key": "X", "fetch_key": "abc-123!"}}, "environment variable"),
        ({"secrets": {"subscription_key": "X"}}, "fetch_key"),
        ({"every_seconds": 5}, "every 60"),
        ({"url": "ftp://x"}, "http"),
        ({"kind": "keepdown"}, "api_key"),  # a peer hotline's feed (federation) needs its key
    ],
)
def test_what_is_refused_before_anything_is_stored(
    feeds: Feeds, kwargs: dict, message: str
) -> None:
    args = {"kind": "stopncii", "secrets": SECRETS["stopncii"], **kwargs}
    kind = args.pop("kind")
    with pytest.raises(InvalidInput, match=message):
        service(feeds).add("bad", kind, owner="operator", **args)
    assert [b.name for b in feeds.storage.banks.list_banks()] == []


def test_updates_are_checked(feeds: Feeds) -> None:
    service(feeds).add("s", "stopncii", owner="op", secrets=SECRETS["stopncii"])
    with pytest.raises(UsageError):
        service(feeds).update("s", kind="ncmec")
    with pytest.raises(InvalidInput):
        service(feeds).update("s", options={"pagesize": 1})
    feed = service(feeds).update("s", every_seconds=600, feedback=True)
    assert (feed.every_seconds, feed.feedback) == (600, True)


def test_a_resync_withdraws_what_the_exchange_forgot(feeds: Feeds, ncmec: FakeNcmec) -> None:
    rng = random.Random(1)
    ncmec.put(
        NcmecEntry(42, f"e{i}", EPOCH + i, fingerprints={"md5": md5_hex(rng)}) for i in range(6)
    )
    feed = service(feeds).add("n", "ncmec", owner="op", url=ncmec.url, secrets=SECRETS["ncmec"])
    assert feeds.sync().run(feed).caught_up
    del ncmec.entries[(42, "e0")]  # forgotten without a deletion record
    service(feeds).resync("n")
    feeds.clock.advance(timedelta(hours=1))
    report = feeds.sync().run(feed)
    assert report.result.reconciled == 1
    assert report.result.removed == 1
    assert sum(removed for removed, *_ in feeds.entries("n").values()) == 1


def test_skipping_past_a_stalled_page(feeds: Feeds, stopncii: FakeStopNcii) -> None:
    rng = random.Random(2)
    stopncii.put(StopNciiHash(pdq_hex(rng), EPOCH + i * 60) for i in range(5))
    feed = service(feeds).add(
        "s", "stopncii", owner="op", url=stopncii.url, secrets=SECRETS["stopncii"],
        options={"page_size": 2, "page_retries": 0, "start": EPOCH},
    )  # fmt: skip
    with pytest.raises(Conflict):
        service(feeds).skip("s", 120)  # not stalled: nothing to skip
    stopncii.every_page = "truncate"
    report = feeds.sync().run(feed)
    assert report.status is FeedStatus.STALLED
    assert "page size 1" in report.error
    assert feeds.store.get_state(feed.id).status is FeedStatus.STALLED
    moved = service(feeds).skip("s", 120)
    assert moved.since == EPOCH + 120
    assert moved.run is None
    stopncii.every_page = None
    assert feeds.sync().run(feed).caught_up
    assert len(feeds.entries("s")) == 3  # the two records of the skipped two minutes are not
