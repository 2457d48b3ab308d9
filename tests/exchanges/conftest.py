"""Fixtures for the exchange tests: fake exchanges on loopback, a frozen clock, feeds on a
real database (SQLite and PostgreSQL through ``database_url``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from keepdown.banks.service import BankService
from keepdown.clock import FrozenClock, utc
from keepdown.exchanges.clients import build_client
from keepdown.exchanges.fakes import FakeNcmec, FakeStopNcii, FakeThreatExchange
from keepdown.exchanges.model import Feed, FeedKind, FeedSpec
from keepdown.exchanges.sync import FeedSync, SyncLimits
from keepdown.storage import Storage, open_storage_url
from keepdown.storage.feed_store import SqlFeedStore
from keepdown.testing import random_pdq_hex

#: The environment the feeds' secrets are read from in these tests.
ENV = {
    "NCMEC_USER": "esp-user",
    "NCMEC_PASSWORD": "esp-secret",
    "STOPNCII_SUBSCRIPTION": "sub-key",
    "STOPNCII_FETCH": "fetch-key",
    "STOPNCII_FEEDBACK": "feedback-key",
    "STOPNCII_SUBMIT": "submit-key",
    "TE_TOKEN": "1234567890|fake-app-secret",
}
SECRETS = {
    "ncmec": {"username": "NCMEC_USER", "password": "NCMEC_PASSWORD"},
    "stopncii": {
        "subscription_key": "STOPNCII_SUBSCRIPTION",
        "fetch_key": "STOPNCII_FETCH",
        "feedback_key": "STOPNCII_FEEDBACK",
        "submit_key": "STOPNCII_SUBMIT",
    },
    "threatexchange": {"access_token": "TE_TOKEN"},
}
#: Exchange timestamps in the tests are in 2025; the clock stands in 2026.
EPOCH = int(utc(2025, 1, 1).timestamp())


def md5_hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def pdq_hex(rng: random.Random) -> str:
    return random_pdq_hex(rng)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(utc(2026, 1, 1))


@pytest.fixture
def ncmec() -> Iterator[FakeNcmec]:
    with FakeNcmec(page_size=10) as fake:
        yield fake


@pytest.fixture
def stopncii() -> Iterator[FakeStopNcii]:
    with FakeStopNcii() as fake:
        fake.clock = utc(2026, 1, 1).timestamp()
        yield fake


@pytest.fixture
def threatexchange() -> Iterator[FakeThreatExchange]:
    with FakeThreatExchange() as fake:
        yield fake


@dataclass
class Feeds:
    """A database with banks and feeds, and the sync that runs them."""

    storage: Storage
    store: SqlFeedStore
    banks: BankService
    clock: FrozenClock
    waits: list[float]

    def add(self, name: str, kind: str, url: str, **options: Any) -> Feed:
        self.banks.create_bank(name, owner="operator", label="csam", trust="auto")
        spec = FeedSpec(
            bank=name,
            kind=FeedKind(kind),
            url=url,
            options=options,
            secrets=SECRETS[kind],
            every_seconds=600,
        )
        return self.store.create_feed(spec, self.clock.now())

    def client(self, feed: Feed) -> Any:
        made = build_client(feed, self.clock, environ=ENV)
        made.http.sleep = self.waits.append  # back-off without waiting
        return made

    def sync(self, **limits: Any) -> FeedSync:
        return FeedSync(
            self.store, self.storage.events, self.clock, self.client, limits=SyncLimits(**limits)
        )

    def entries(self, name: str) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The bank as comparable values: (type, value) -> (removed, reason, provenance...)."""
        bank = self.storage.banks.get_bank(name)
        return {
            (str(e.signal_type), e.value): (
                e.removed,
                e.removal_reason,
                e.source_id,
                e.source_label,
                e.classification,
            )
            for e in self.storage.banks.iter_entries(bank.id)
        }

    def records(self, feed: Feed) -> dict[str, tuple[bool, Any]]:
        out: dict[str, tuple[bool, Any]] = {}
        after = 0
        while True:
            page = self.store.records(feed.id, after=after, limit=500)
            if not page:
                return out
            for r in page:
                out[r.key] = (r.deleted, r.updated_at)
            after = page[-1].id


@pytest.fixture
def feeds(database_url: str, clock: FrozenClock) -> Iterator[Feeds]:
    storage = open_storage_url(database_url)
    try:
        yield Feeds(
            storage=storage,
            store=SqlFeedStore(storage.engine, storage.banks),
            banks=BankService(storage.banks, storage.events, clock),
            clock=clock,
            waits=[],
        )
    finally:
        storage.close()
