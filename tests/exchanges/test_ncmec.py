"""The NCMEC client against the fake NCMEC: the documented shapes and NCMEC's failure modes."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest

from keepdown.clock import FrozenClock
from keepdown.errors import ExchangeError
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.clients.ncmec import NcmecClient
from keepdown.exchanges.fakes import FakeNcmec, NcmecEntry
from keepdown.exchanges.records import ExchangeRecord
from keepdown.exchanges.secrets import Secret
from keepdown.hashing.types import SignalType
from tests.exchanges.conftest import EPOCH, md5_hex, pdq_hex

CREDENTIALS = {"username": Secret("esp-user"), "password": Secret("esp-secret")}


def client(fake: FakeNcmec, clock: FrozenClock, **options: object) -> NcmecClient:
    made = NcmecClient(fake.url, options, CREDENTIALS, clock)
    made.http.sleep = lambda _seconds: None  # no real waiting; http.waits records them
    return made


def entries(
    n: int, seed: int = 1, *, second: int | None = None, spread: int = 3600
) -> list[NcmecEntry]:
    rng = random.Random(seed)
    return [
        NcmecEntry(
            member=42,
            id=f"img{seed}-{i}",
            timestamp=EPOCH + (second if second is not None else rng.randrange(spread)),
            fingerprints={"md5": md5_hex(rng), "pdq": pdq_hex(rng), "pdna": "QUJD" * 20},
        )
        for i in range(n)
    ]


def fetch_all(c: NcmecClient, checkpoint: Checkpoint | None = None) -> tuple[list, Checkpoint]:
    records, last = [], checkpoint or Checkpoint()
    for page in c.pages(last):
        records.extend(page.records)
        last = page.checkpoint
    return records, last


def keys(records: list) -> set[str]:
    return {r.key for r in records if isinstance(r, ExchangeRecord)}


def test_reads_status_entries_fingerprints_and_classification(
    ncmec: FakeNcmec, clock: FrozenClock
) -> None:
    ncmec.put(entries(25))
    ncmec.put(
        [
            NcmecEntry(
                43,
                "vid1",
                EPOCH + 5,
                kind="video",
                classification="B2",
                fingerprints={"md5": "ab" * 16, "tmk-pdqf": "x" * 40},
            )
        ]
    )
    c = client(ncmec, clock)
    assert c.whoami() == {"member_id": "7", "member": "Keepdown Test"}
    records, last = fetch_all(c)
    assert len(keys(records)) == 26
    video = next(r for r in records if r.key == "43-vid1")
    assert video.kind == "video"
    assert video.label == "B2"
    assert video.classification is not None
    assert str(video.classification.maturity) == "post-pubescent"
    assert video.signals == ((SignalType.MD5, "ab" * 16),)
    assert video.fingerprints["tmk-pdqf"] == "x" * 40  # kept as provenance, never matched
    image = next(r for r in records if r.key == "42-img1-0")
    assert {s for s, _ in image.signals} == {SignalType.MD5, SignalType.PDQ}
    assert "pdna" in image.fingerprints
    assert last.run is None
    assert last.since == int(clock.now().timestamp()) - 5


def test_thousands_in_one_second_are_paged_with_a_checkpoint_after_every_page(
    clock: FrozenClock,
) -> None:
    with FakeNcmec(page_size=1000) as fake:
        fake.put(entries(2500, second=100))
        c = client(fake, clock, window_records=500)
        pages = c.pages(Checkpoint())
        seen: list = []
        for page in pages:
            seen.extend(page.records)
            if page.checkpoint.run is not None and page.checkpoint.run.cursor:
                stopped = page.checkpoint  # interrupted after the first page of the busy second
                break
        run = stopped.run
        assert run is not None
        assert int(run.end) - int(run.start) == 1
        rest, last = fetch_all(client(fake, clock, window_records=500), stopped)
        # The resumed run goes on from the stored next: the busy second's first page is not
        # fetched again, its other two pages are, and nothing else of it.
        busy = [r for r in rest if r.updated_at.timestamp() == EPOCH + 100]
        assert len(busy) == 1500
        assert keys(seen[-1000:]) | keys(busy) == {f"42-{e.id}" for e in fake.entries.values()}
        assert last.run is None


def test_out_of_order_entries_never_move_the_checkpoint(
    ncmec: FakeNcmec, clock: FrozenClock
) -> None:
    ncmec.put(entries(60, spread=10))
    c = client(ncmec, clock, window_records=1000)
    for page in c.pages(Checkpoint()):
        if page.checkpoint.run is not None:
            # Mid-run, ``since`` stays where the run started, whatever times the entries had.
            assert page.checkpoint.since == Checkpoint().since
    records, _last = fetch_all(client(ncmec, clock))
    assert len(keys(records)) == 60


def test_an_expired_next_restarts_its_window_and_loses_nothing(
    ncmec: FakeNcmec, clock: FrozenClock
) -> None:
    ncmec.put(entries(45, spread=3))
    c = client(ncmec, clock, window_records=1000)
    first = next(iter(c.pages(Checkpoint())))
    assert first.checkpoint.run is not None
    assert first.checkpoint.run.cursor
    ncmec.expire_cursors()
    rest, _last = fetch_all(client(ncmec, clock), first.checkpoint)
    assert keys(first.records) | keys(rest) == keys(rest) == {f"42-img1-{i}" for i in range(45)}
    assert ("GET", "/v2/entries") in ncmec.requests


def test_a_stale_next_is_not_used_at_all(ncmec: FakeNcmec, clock: FrozenClock) -> None:
    ncmec.put(entries(30, spread=3))
    first = next(iter(client(ncmec, clock).pages(Checkpoint())))
    clock.advance(timedelta(hours=13))  # NCMEC advises against paging URLs older than ~12 h
    before = ncmec.data_requests
    rest, _ = fetch_all(client(ncmec, clock), first.checkpoint)
    assert keys(rest) == {f"42-img1-{i}" for i in range(30)}
    assert ncmec.data_requests - before >= 3


def test_replaying_next_with_another_end_skips_history_so_the_client_never_does(
    ncmec: FakeNcmec, clock: FrozenClock
) -> None:
    ncmec.put(entries(30, spread=3))
    first = next(iter(client(ncmec, clock).pages(Checkpoint())))
    run = first.checkpoint.run
    assert run is not None
    assert run.cursor
    # What other systems did (pytx issue 1744): the stored next, replayed with a later ``to``.
    altered = run.cursor.replace("&amp;", "&").split("&to=")
    later = altered[0] + "&to=2026-06-01T00%3A00%3A00Z&" + altered[1].split("&", 1)[1]
    auth = ("esp-user", "esp-secret")
    naive = httpx.get(ncmec.url + later, auth=auth)
    assert naive.status_code == 200  # served, silently, from another query: history skipped
    # keepdown resumes with the run's own bounds, a day later: every entry arrives.
    clock.advance(timedelta(hours=1))
    rest, _ = fetch_all(client(ncmec, clock), first.checkpoint)
    assert keys(first.records) | keys(rest) == {f"42-img1-{i}" for i in range(30)}


def test_busy_answers_are_retried_after_retry_after(ncmec: FakeNcmec, clock: FrozenClock) -> None:
    ncmec.put(entries(15, spread=2))
    ncmec.retry_after = 7
    ncmec.schedule({1: "429", 2: "503", 4: "drop"})
    c = client(ncmec, clock, window_records=1000)
    records, last = fetch_all(c)
    assert len(keys(records)) == 15
    assert last.run is None
    assert c.http.waits[:2] == [7.0, 7.0]


def test_a_truncated_page_is_asked_for_again(ncmec: FakeNcmec, clock: FrozenClock) -> None:
    ncmec.put(entries(15, spread=2))
    ncmec.schedule({2: "truncate", 3: "garbage"})
    records, last = fetch_all(client(ncmec, clock, window_records=1000))
    assert len(keys(records)) == 15
    assert last.run is None


def test_a_deletion_of_an_entry_never_seen_is_a_tombstone_record(
    ncmec: FakeNcmec, clock: FrozenClock
) -> None:
    ncmec.put([NcmecEntry(42, "never", EPOCH + 9, deleted=True)])
    records, _ = fetch_all(client(ncmec, clock))
    (record,) = [r for r in records if isinstance(r, ExchangeRecord)]
    assert record.deleted
    assert record.signals == ()
    assert record.key == "42-never"


def test_bad_credentials_are_a_permanent_refusal(ncmec: FakeNcmec, clock: FrozenClock) -> None:
    c = NcmecClient(
        ncmec.url, {}, {"username": Secret("esp-user"), "password": Secret("nope")}, clock
    )
    with pytest.raises(ExchangeError) as caught:
        list(c.pages(Checkpoint()))
    assert caught.value.details == {"status": 401, "permanent": True}
    assert "nope" not in str(caught.value)


def test_only_the_chosen_members(ncmec: FakeNcmec, clock: FrozenClock) -> None:
    ncmec.put(entries(5))
    ncmec.put([NcmecEntry(99, "other", EPOCH + 1, fingerprints={"md5": "cd" * 16})])
    records, _ = fetch_all(client(ncmec, clock, members=["99"]))
    assert keys(records) == {"99-other"}


def test_invalid_fingerprints_are_named_and_the_rest_kept(
    ncmec: FakeNcmec, clock: FrozenClock
) -> None:
    ncmec.put(
        [NcmecEntry(42, "odd", EPOCH + 1, fingerprints={"md5": "not-hex", "sha1": "ab" * 20})]
    )
    ncmec.put([NcmecEntry(42, "", EPOCH + 1)])  # no id: unreadable
    records, _ = fetch_all(client(ncmec, clock))
    good = [r for r in records if isinstance(r, ExchangeRecord)]
    assert good[0].signals == ((SignalType.SHA1, "ab" * 20),)
    assert good[0].extra["invalid_fingerprints"] == ["md5"]
    assert len(records) - len(good) == 1


def test_feedback_votes_are_states_with_a_reason(ncmec: FakeNcmec, clock: FrozenClock) -> None:
    ncmec.put(entries(1))
    c = client(ncmec, clock)
    c.send_vote("42", "img1-0", SignalType.PDQ, affirmative=False)
    c.send_vote("42", "img1-0", SignalType.PDQ, affirmative=False)
    c.send_vote("42", "img1-0", SignalType.MD5, affirmative=True)
    assert ncmec.votes == {
        (7, 42, "img1-0", "PDQ"): ("down", "a1b2c3d4-0000-4000-8000-000000000001"),
        (7, 42, "img1-0", "MD5"): ("up", ""),
    }
    assert ncmec.feedback_requests == 3
    with pytest.raises(ExchangeError, match="negative_reason"):
        client(ncmec, clock, negative_reason="no such reason").send_vote(
            "42", "img1-0", SignalType.PDQ, affirmative=False
        )
