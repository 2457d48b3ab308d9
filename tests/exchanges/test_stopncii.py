"""The StopNCII client against the fake StopNCII: shapes, statuses, and unreadable pages that
stall other systems for ever."""

from __future__ import annotations

import random

import pytest

from keepdown.clock import FrozenClock
from keepdown.errors import ExchangeError
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.clients.stopncii import StopNciiClient
from keepdown.exchanges.fakes import FakeStopNcii, StopNciiHash
from keepdown.exchanges.protocol import PageStalled
from keepdown.exchanges.records import ExchangeRecord
from keepdown.exchanges.secrets import Secret
from keepdown.hashing.types import SignalType
from tests.exchanges.conftest import EPOCH, md5_hex, pdq_hex

KEYS = {
    "subscription_key": Secret("sub-key"),
    "fetch_key": Secret("fetch-key"),
    "feedback_key": Secret("feedback-key"),
    "submit_key": Secret("submit-key"),
}


def client(fake: FakeStopNcii, clock: FrozenClock, **options: object) -> StopNciiClient:
    made = StopNciiClient(fake.url, options, KEYS, clock)
    made.http.sleep = lambda _seconds: None  # no real waiting; http.waits records them
    return made


def hashes(n: int, seed: int = 1) -> list[StopNciiHash]:
    rng = random.Random(seed)
    return [StopNciiHash(pdq_hex(rng), EPOCH + rng.randrange(86400)) for _ in range(n)]


def fetch_all(c: StopNciiClient, checkpoint: Checkpoint | None = None) -> tuple[list, Checkpoint]:
    records, last = [], checkpoint or Checkpoint()
    for page in c.pages(last):
        records.extend(page.records)
        last = page.checkpoint
    return records, last


def keys(records: list) -> set[str]:
    return {r.key for r in records if isinstance(r, ExchangeRecord)}


def test_pages_statuses_and_signal_types(stopncii: FakeStopNcii, clock: FrozenClock) -> None:
    stopncii.put(hashes(23))
    rng = random.Random(9)
    video = md5_hex(rng)
    stopncii.put(
        [
            StopNciiHash(video, EPOCH + 5, "VideoMD5", "Received"),
            StopNciiHash("ff" * 32, EPOCH + 6, "ImagePDQ", "Withdrawn"),
            StopNciiHash("tmk-blob", EPOCH + 7, "VideoTMK", "Active"),
        ]
    )
    records, last = fetch_all(client(stopncii, clock, page_size=10))
    by_key = {r.key: r for r in records}
    assert len(by_key) == 26
    assert by_key[f"VideoMD5:{video}"].signals == ((SignalType.MD5, video),)
    assert by_key["ImagePDQ:" + "ff" * 32].deleted
    tmk = by_key["VideoTMK:tmk-blob"]
    assert tmk.signals == ()
    assert tmk.fingerprints == {"VideoTMK": "tmk-blob"}
    assert last.run is None
    assert last.since == int(stopncii.clock or 0)
    assert stopncii.data_requests == 3


def test_resuming_a_token_goes_on_and_an_expired_token_restarts(
    stopncii: FakeStopNcii, clock: FrozenClock
) -> None:
    stopncii.put(hashes(30))
    first = next(iter(client(stopncii, clock, page_size=10).pages(Checkpoint())))
    assert first.checkpoint.run is not None
    assert first.checkpoint.run.cursor
    rest, _ = fetch_all(client(stopncii, clock, page_size=10), first.checkpoint)
    assert len(rest) == 20
    stopncii.expire_cursors()
    again, _ = fetch_all(client(stopncii, clock, page_size=10), first.checkpoint)
    assert len(again) == 30
    assert keys(again) == keys(first.records) | keys(rest)


def test_a_truncated_page_is_retried(stopncii: FakeStopNcii, clock: FrozenClock) -> None:
    stopncii.put(hashes(30))
    stopncii.schedule({2: "truncate", 3: "garbage"})
    c = client(stopncii, clock, page_size=10)
    records, last = fetch_all(c)
    assert len(keys(records)) == 30
    assert last.run is None
    assert c.http.waits == [1.0, 2.0]


def test_a_page_truncated_at_its_size_goes_through_smaller(
    stopncii: FakeStopNcii, clock: FrozenClock
) -> None:
    stopncii.put(hashes(30))
    stopncii.truncate_over = 4  # pages over 4 records always come back cut in half
    records, last = fetch_all(client(stopncii, clock, page_size=16, page_retries=1))
    assert len(keys(records)) == 30
    assert last.run is None


def test_a_page_unreadable_at_every_size_stalls_visibly(
    stopncii: FakeStopNcii, clock: FrozenClock
) -> None:
    stopncii.put(hashes(5))
    stopncii.every_page = "truncate"
    with pytest.raises(PageStalled) as caught:
        fetch_all(client(stopncii, clock, page_size=4, page_retries=0))
    assert "page size 1" in caught.value.message
    assert caught.value.details["start"] == 10


def test_busy_answers_wait_as_told(stopncii: FakeStopNcii, clock: FrozenClock) -> None:
    stopncii.put(hashes(12))
    stopncii.retry_after = 3
    stopncii.schedule({1: "503", 2: "429"})
    c = client(stopncii, clock, page_size=5)
    records, _ = fetch_all(c)
    assert len(keys(records)) == 12
    assert c.http.waits == [3.0, 3.0]


def test_a_retry_after_longer_than_patience_fails_the_run_with_it(
    stopncii: FakeStopNcii, clock: FrozenClock
) -> None:
    stopncii.put(hashes(3))
    stopncii.retry_after = 3600
    stopncii.schedule({1: "429"})
    with pytest.raises(ExchangeError) as caught:
        fetch_all(client(stopncii, clock))
    assert caught.value.details["retry_after"] == 3600
    assert not caught.value.details["permanent"]


def test_wrong_keys_are_refused_for_good(stopncii: FakeStopNcii, clock: FrozenClock) -> None:
    c = StopNciiClient(stopncii.url, {}, {**KEYS, "fetch_key": Secret("wrong")}, clock)
    with pytest.raises(ExchangeError) as caught:
        fetch_all(c)
    assert caught.value.details["status"] == 401
    assert caught.value.details["permanent"]


def test_feedback_and_submissions(stopncii: FakeStopNcii, clock: FrozenClock) -> None:
    c = client(stopncii, clock)
    c.send_feedback([("ab" * 32, False), ("cd" * 32, True)])
    c.send_feedback([("ab" * 32, False)])
    assert stopncii.feedback == {
        ("keepdown-test", "ab" * 32): "NotBlocked",
        ("keepdown-test", "cd" * 32): "Blocked",
    }
    c.submit_hashes([(SignalType.PDQ, "ef" * 32)])
    assert stopncii.submitted[0]["signalType"] == "ImagePDQ"
    no_key = StopNciiClient(
        stopncii.url, {}, {k: v for k, v in KEYS.items() if k != "feedback_key"}, clock
    )
    with pytest.raises(ExchangeError, match="feedback_key"):
        no_key.send_feedback([("ab" * 32, True)])
