"""Resume equals full fetch: for every client, a fetch interrupted anywhere and resumed ends with
exactly the bank an uninterrupted fetch gives.

Hypothesis draws an exchange's data (records sharing hashes and seconds, out of order,
deletions of records never seen, classification changes), a second round of changes, and a
plan of interruptions: the exchange failing a page, an exception after any number of pages,
an exception inside the page's transaction (after the records were written, after the entries
were), a stored cursor expiring. Each interrupted run is resumed (a new run, as the next
dispatch would) until the feed is caught up; the bank and the feed's records must equal those of
another feed that fetched the same data without a single interruption. ``kill -9`` of a worker
process is ``test_kill.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepdown.exchanges.fakes import (
    FakeNcmec,
    FakeStopNcii,
    FakeThreatExchange,
    NcmecEntry,
    StopNciiHash,
    TeIndicator,
)
from keepdown.exchanges.model import Feed, FeedStatus
from keepdown.storage import feed_pages
from tests.exchanges.conftest import EPOCH, Feeds

MD5S = [f"{i:02x}" * 16 for i in range(1, 9)]
PDQS = [f"{i:02x}{'5a' * 31}" for i in range(1, 9)]
LABELS = [None, "A1", "A2", "B1", "B2"]
_names = itertools.count()


class Interrupted(RuntimeError):
    """The injected failure."""


@dataclass(frozen=True)
class Version:
    """One state of one exchange record (the fakes' own shapes are made from it)."""

    key: int
    second: int
    deleted: bool
    md5: int
    pdq: int | None
    label: int


versions = st.builds(
    Version,
    key=st.integers(0, 11),
    second=st.integers(0, 6),  # few seconds: many records share one
    deleted=st.booleans(),
    md5=st.integers(0, 7),  # few values: records share hashes
    pdq=st.one_of(st.none(), st.integers(0, 7)),
    label=st.integers(0, 4),
)
#: (after how many data requests, what): exchange faults, and failures of our own.
interruptions = st.lists(
    st.tuples(
        st.integers(1, 8),
        st.sampled_from(
            [
                "503",
                "expire",
                "truncate",
                "raise-after-pages",
                "raise-in-records",
                "raise-in-entries",
            ]
        ),
    ),
    max_size=4,
)


# --- the three exchanges, from one description of their data ----------------------------------


def put_ncmec(fake: FakeNcmec, versions: list[Version], base: int) -> None:
    fake.put(
        NcmecEntry(
            member=42 + v.key % 2,
            id=f"e{v.key}",
            timestamp=base + v.second,
            deleted=v.deleted,
            classification=LABELS[v.label],
            fingerprints={
                "md5": MD5S[v.md5],
                **({"pdq": PDQS[v.pdq]} if v.pdq is not None else {}),
            },
        )
        for v in _latest(versions)
    )


def put_stopncii(fake: FakeStopNcii, versions: list[Version], base: int) -> None:
    # StopNCII's records are keyed by their hash: the version's key picks the hash.
    fake.put(
        StopNciiHash(
            PDQS[v.key % 8] if v.key < 8 else MD5S[v.key % 8],
            base + v.second,
            "ImagePDQ" if v.key < 8 else "VideoMD5",
            ["Active", "Received"][v.label % 2]
            if not v.deleted
            else ["Withdrawn", "Deleted"][v.label % 2],
        )
        for v in _latest(versions)
    )


def put_threatexchange(fake: FakeThreatExchange, versions: list[Version], base: int) -> None:
    fake.put(
        TeIndicator(
            id=str(100 + v.key),
            type="HASH_PDQ" if v.pdq is not None else "HASH_MD5",
            indicator=PDQS[v.pdq] if v.pdq is not None else MD5S[v.md5],
            last_updated=base + v.second,
            should_delete=v.deleted,
            descriptors=[
                {"id": str(900 + v.key), "owner": {"id": "5"}, "tags": [LABELS[v.label] or "x"]}
            ],
        )
        for v in _latest(versions)
    )


def _latest(versions: list[Version]) -> list[Version]:
    """One state per key (an exchange holds each record's latest)."""
    return list({v.key: v for v in versions}.values())


KINDS: dict[str, tuple[Callable[[], Any], Callable[..., None], dict[str, Any]]] = {
    "ncmec": (lambda: FakeNcmec(page_size=3), put_ncmec, {"window_records": 6}),
    "stopncii": (FakeStopNcii, put_stopncii, {"page_size": 4, "page_retries": 0}),
    "threatexchange": (
        FakeThreatExchange,
        put_threatexchange,
        {"page_size": 4, "privacy_group": "303"},
    ),
}


# --- running feeds with failures ------------------------------------------------------------


@contextmanager
def failing_writer(plan: dict[int, str], applied: list[int]) -> Iterator[None]:
    """Make the page transaction raise at the planned points (the transaction rolls back):
    after the page's records were written, or after its entries were too."""
    apply, entries, ensure = (
        feed_pages.PageWriter.apply,
        feed_pages.PageWriter._entries,
        feed_pages.PageWriter._ensure,
    )

    def due(kind: str) -> bool:
        return plan.get(len(applied)) == kind

    def counted_apply(self: Any, records: Any) -> Any:
        applied.append(1)
        return apply(self, records)

    def failing_entries(self: Any, links: Any) -> Any:
        if due("raise-in-records"):
            raise Interrupted("after the records were written")
        return entries(self, links)

    def failing_ensure(self: Any, *args: Any) -> Any:
        found = ensure(self, *args)
        if due("raise-in-entries"):
            raise Interrupted("after the entries were written")
        return found

    feed_pages.PageWriter.apply = counted_apply  # type: ignore[method-assign]
    feed_pages.PageWriter._entries = failing_entries  # type: ignore[method-assign]
    feed_pages.PageWriter._ensure = failing_ensure  # type: ignore[method-assign]
    try:
        yield
    finally:
        feed_pages.PageWriter.apply = apply  # type: ignore[method-assign]
        feed_pages.PageWriter._entries = entries  # type: ignore[method-assign]
        feed_pages.PageWriter._ensure = ensure  # type: ignore[method-assign]


def run_until_caught_up(feeds: Feeds, feed: Feed, fake: Any, plan: list[tuple[int, str]]) -> None:
    """Runs with the planned interruptions, then resumed runs, until caught up."""
    faults = {n: f for n, f in plan if f in ("503", "expire", "truncate")}
    raise_after = sorted(n for n, f in plan if f == "raise-after-pages")
    writes = {n: f for n, f in plan if f.startswith("raise-in")}
    fake.schedule({n: ("503" if f == "503" else f) for n, f in faults.items()})
    fake.retry_after = 0
    applied: list[int] = []
    sync = feeds.sync(batch_records=3, flush_seconds=0)

    def interrupting(made_feed: Feed) -> Any:
        client = feeds.client(made_feed)
        inner = client.pages
        budget = raise_after.pop(0) if raise_after else None

        def pages(checkpoint: Any) -> Iterator[Any]:
            for n, page in enumerate(inner(checkpoint), start=1):
                if budget is not None and n > budget:
                    raise Interrupted(f"after {budget} pages")
                yield page

        client.pages = pages
        return client

    sync.make_client = interrupting
    with failing_writer(writes, applied):
        for _ in range(40):
            report = sync.run(feed)
            if report.caught_up and report.status is FeedStatus.IDLE:
                return
            # A fault on every try of one page (truncated at each size down to one record)
            # stalls the feed: the next run tries again from its checkpoint, losing nothing.
            assert report.status in (FeedStatus.RETRYING, FeedStatus.IDLE, FeedStatus.STALLED)
            feeds.clock.advance(1)  # a little later, as the next dispatch would be
    raise AssertionError("the feed never caught up")


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(versions, min_size=1, max_size=14),
    second=st.lists(versions, max_size=8),
    plan_one=interruptions,
    plan_two=interruptions,
)
def test_resume_equals_full_fetch(
    feeds: Feeds,
    kind: str,
    first: list[Version],
    second: list[Version],
    plan_one: list,
    plan_two: list,
) -> None:
    fake_type, put, options = KINDS[kind]
    with fake_type() as fake:
        if kind == "stopncii":
            fake.clock = feeds.clock.now().timestamp()
        n = next(_names)
        plain = feeds.add(f"{kind}-plain-{n}", kind, fake.url, **options)
        resumed = feeds.add(f"{kind}-resumed-{n}", kind, fake.url, **options)
        for versions_now, plan in ((first, plan_one), (second, plan_two)):
            base = int(feeds.clock.now().timestamp()) - 3600
            put(fake, versions_now, base)
            run_until_caught_up(feeds, plain, fake, [])
            run_until_caught_up(feeds, resumed, fake, plan)
            assert _bank(feeds, resumed) == _bank(feeds, plain)
            assert feeds.records(resumed) == feeds.records(plain)
            feeds.clock.advance(timedelta(hours=2))
            if kind == "stopncii":
                fake.clock = feeds.clock.now().timestamp()


def _bank(feeds: Feeds, feed: Feed) -> dict[Any, Any]:
    return feeds.entries(feed.name)


def test_the_plan_really_interrupts(feeds: Feeds) -> None:
    """A guard on the property: the injected failures do fail runs (not silently pass)."""
    with FakeNcmec(page_size=2) as fake:
        put_ncmec(fake, [Version(k, k % 3, False, k % 8, None, 1) for k in range(8)], EPOCH)
        feed = feeds.add("ncmec-check", "ncmec", fake.url, window_records=100)
        sync = feeds.sync(batch_records=1, flush_seconds=0)
        with failing_writer({1: "raise-in-entries"}, []):
            report = sync.run(feed)
        assert report.status is FeedStatus.RETRYING
        assert "after the entries" in report.error
        assert feeds.entries("ncmec-check") == {}  # the page's transaction rolled back
        assert sync.run(feed).caught_up
        assert len(feeds.entries("ncmec-check")) == 8
