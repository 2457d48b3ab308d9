"""Self-submission services on real storage (SQLite, then PostgreSQL) and their in-memory twin.

Passwords use cheap Argon2 costs here only; the clock is frozen so lock-outs and the 48-hour
clock can be walked through.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keepdown.auth.passwords import Passwords
from keepdown.banks.service import BankService
from keepdown.clock import FrozenClock, utc
from keepdown.events import EventLog
from keepdown.hashing.pdq import DIHEDRAL_NAMES
from keepdown.submissions import (
    InMemorySubmissionStore,
    ProgrammeBanks,
    SubmissionService,
    parse_form,
)

START = utc(2026, 5, 19, 9)
OPERATOR = "hotline"


@dataclass
class World:
    service: SubmissionService
    banks: BankService
    programme: ProgrammeBanks
    clock: FrozenClock
    log: EventLog
    storage: Any


def image(seed: int, quality: int = 90) -> dict[str, Any]:
    """One picture's hashes as the page sends them (made-up values, distinct per seed)."""
    return {
        "media": "image",
        "md5": f"{seed:032x}",
        "sha256": f"{seed:064x}",
        "quality": quality,
        "pdq": {name: f"{seed * 16 + i + 1:064x}" for i, name in enumerate(DIHEDRAL_NAMES)},
    }


def video(seed: int) -> dict[str, Any]:
    return {"media": "video", "md5": f"{seed + 7:032x}", "sha256": f"{seed + 7:064x}"}


def form(*items: dict[str, Any], age: str = "16-17", share: bool = True) -> Any:
    body = {"age_at_time": age, "share_with_platforms": share, "items": list(items)}
    return parse_form(body, max_items=20, quality_floor=50)


class _Both:
    """Events to the durable store (as the app does) and to an in-memory log to inspect."""

    def __init__(self, *sinks: Any) -> None:
        self.sinks = sinks

    def emit(self, event: Any) -> None:
        for sink in self.sinks:
            sink.emit(event)


@pytest.fixture(
    params=[
        "sql-sqlite",
        pytest.param("sql-postgres", marks=pytest.mark.postgres),
        "memory-sqlite",
    ]
)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """Banks on real storage; submissions in SQL (SQLite, PostgreSQL) or in the in-memory
    twin (its banks on SQLite)."""
    from keepdown.storage import open_storage_url
    from keepdown.storage.submission_store import SqlSubmissionStore

    kind, database = request.param.split("-")
    if database == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'keepdown.sqlite3'}"
    storage = open_storage_url(url)
    clock = FrozenClock(START)
    log = EventLog()
    events = _Both(storage.events, log)
    banks = BankService(storage.banks, events, clock)
    store = SqlSubmissionStore(storage.engine) if kind == "sql" else InMemorySubmissionStore()
    programme = ProgrammeBanks(banks, store, prefix="self-submitted", owner=OPERATOR)
    service = SubmissionService(
        store, programme, events, clock, passwords=Passwords(time_cost=1, memory_cost=1024)
    )
    try:
        yield World(service, banks, programme, clock, log, storage)
    finally:
        storage.close()


@dataclass
class Platform:
    """A platform using keepdown: submissions, held uploads, removal requests, on one store."""

    world: World
    removals: Any
    holds: Any
    organisation: str = "photoshare"


@pytest.fixture
def platform(world: World) -> Platform:
    """The ``world`` with the removal and hold services (SQL stores when the world is SQL,
    the in-memory twins otherwise); the platform's organisation exists."""
    from keepdown.storage.hold_store import SqlHoldStore
    from keepdown.storage.removal_store import SqlRemovalStore
    from keepdown.submissions.holds import HoldService
    from keepdown.submissions.memory import InMemoryHoldStore, InMemoryRemovalStore
    from keepdown.submissions.removal import ClockPolicy, RemovalService

    engine = world.storage.engine
    sql = not isinstance(world.service.store, InMemorySubmissionStore)
    _organisation(world, "photoshare")
    if sql:
        requests: Any = SqlRemovalStore(engine)
        holds_store: Any = SqlHoldStore(engine)
    else:
        requests = InMemoryRemovalStore()
        holds_store = InMemoryHoldStore(lambda entry_id: _entry_key(world, entry_id), requests)
    removals = RemovalService(requests, world.service.events, world.clock, ClockPolicy())
    world.service.on_withdrawn = removals.withdraw_for
    holds = HoldService(
        holds_store, world.service.store, removals, world.service.events, world.clock
    )
    return Platform(world, removals, holds)


def _organisation(world: World, name: str) -> None:
    from sqlalchemy import insert, select

    from keepdown.storage.tables_access import organisations

    with world.storage.engine.begin() as conn:
        found = conn.execute(select(organisations.c.id).where(organisations.c.name == name))
        if found.first() is None:
            conn.execute(insert(organisations).values(name=name, created_at=world.clock.now()))


def _entry_key(world: World, entry_id: int) -> tuple[str, str]:
    for bank in world.banks.store.list_banks():
        for entry in world.banks.store.iter_entries(bank.id):
            if entry.id == entry_id:
                return (str(entry.signal_type), entry.value)
    raise KeyError(entry_id)
