"""Block list fixtures: confirmed locations written as the notice store writes them (one
provider, one notice per location), and a block list service on the test's storage."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, update

from keepdown.blocklist import BlocklistService, Canary
from keepdown.clock import FrozenClock, utc
from keepdown.storage.blocklist_store import SqlBlocklistStore
from keepdown.storage.tables_notices import notice_locations, notices
from keepdown.storage.tables_providers import providers

T0 = utc(2026, 5, 4, 9)
_refs = itertools.count(1)


class Locations:
    """Writes and changes confirmed locations in the notices' tables."""

    def __init__(self, engine: Any, at: datetime) -> None:
        self.engine = engine
        with engine.begin() as conn:
            self.provider_id = conn.execute(
                insert(providers).values(
                    name="Hosting A",
                    ip_ranges=[],
                    asns=[],
                    domains=[],
                    abuse_contacts=["abuse@hosting-a.test"],
                    created_at=at,
                    updated_at=at,
                )
            ).inserted_primary_key[0]

    def add(self, url: str, at: datetime, state: str = "notified", category: str = "csam") -> int:
        with self.engine.begin() as conn:
            notice_id = conn.execute(
                insert(notices).values(
                    reference=f"N-{next(_refs)}-{hashlib.sha256(url.encode()).hexdigest()[:6]}",
                    provider_id=self.provider_id,
                    state="sent",
                    language="en",
                    created_at=at,
                )
            ).inserted_primary_key[0]
            return int(
                conn.execute(
                    insert(notice_locations).values(
                        notice_id=notice_id,
                        provider_id=self.provider_id,
                        media_url=url,
                        page_url=url,
                        url_key=hashlib.sha256(url.encode()).hexdigest(),
                        host=url.split("/")[2],
                        sha256="0" * 64,
                        category=category,
                        state=state,
                        detected_at=at,
                    )
                ).inserted_primary_key[0]
            )

    def set_state(self, location_id: int, state: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(notice_locations)
                .where(notice_locations.c.id == location_id)
                .values(state=state)
            )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def locations(storage: Any) -> Locations:
    return Locations(storage.engine, T0)


@pytest.fixture
def service(storage: Any, clock: FrozenClock) -> Iterator[BlocklistService]:
    return BlocklistService(
        SqlBlocklistStore(storage.engine),
        storage.events,
        clock,
        canary=Canary("canary.blocklist.test"),
        epoch=T0,
    )
