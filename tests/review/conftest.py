"""Review fixtures: real storage (SQLite and PostgreSQL), a bank, sightings waiting for review.

Sightings are written straight into the crawler's ``sightings`` table with the columns the
crawler writes; the media URLs point nowhere (these tests never fetch).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.events import EventLog
from keepdown.hashing.types import SignalType
from keepdown.review import QueueConfig, ReviewService
from keepdown.storage.review_store import SqlReviewStore
from keepdown.storage.tables_access import organisations
from keepdown.storage.tables_crawl import sightings
from keepdown.testing import FrozenClock, utc

PDQ = "f" * 16 + "0" * 48


def add_sighting(
    engine: Any,
    n: int,
    *,
    bank: str = "known",
    state: str = "pending_review",
    entry_id: int | None = None,
    provider: str = "hostco",
    **values: Any,
) -> int:
    row = {
        "sighting_key": hashlib.sha256(f"s{n}".encode()).hexdigest(),
        "page_url": f"http://site.test/page/{n}",
        "media_url": f"http://site.test/media/{n}.jpg",
        "final_url": f"http://site.test/media/{n}.jpg",
        "sha256": hashlib.sha256(f"media{n}".encode()).hexdigest(),
        "md5": hashlib.md5(f"media{n}".encode()).hexdigest(),
        "sha1": hashlib.sha1(f"media{n}".encode()).hexdigest(),
        "pdq": PDQ,
        "quality": 90,
        "size": 1000,
        "content_type": "image/jpeg",
        "http_status": 200,
        "seen_at": utc(2026, 1, 1) + timedelta(minutes=n),
        "bank": bank,
        "entry_id": entry_id,
        "signal_type": "pdq",
        "distance": 12,
        "variant": "mirror_x",
        "match_type": "near",
        "state": state,
        "provider": provider,
        "country": "FR",
        **values,
    }
    with engine.begin() as conn:
        return int(conn.execute(insert(sightings).values(**row)).inserted_primary_key[0])


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(utc(2026, 2, 1, 9))


@pytest.fixture
def bank_entry(storage, clock) -> int:
    """A review-trust bank "known" (source "unit-test-hotline") with one PDQ entry."""
    with storage.engine.begin() as conn:
        conn.execute(insert(organisations).values(name="acme", created_at=clock.now()))
    banks = BankService(storage.banks, EventLog(), clock=clock)
    banks.create_bank("known", owner="acme", label="csam", source="unit-test-hotline")
    banks.add_entry("known", EntryRecord(SignalType.PDQ, PDQ))
    bank = storage.banks.get_bank("known")
    return storage.banks.get_entry(bank.id, "pdq", PDQ).id


@pytest.fixture
def review(storage, clock, bank_entry) -> tuple[ReviewService, EventLog]:
    events = EventLog()
    service = ReviewService(
        SqlReviewStore(storage.engine),
        events,
        clock,
        QueueConfig(claim_for=timedelta(minutes=10), skip_for=timedelta(minutes=60)),
    )
    return service, events
