"""Migration 0016 on a database at 0015 that already holds events: every event is kept (id,
kind, time, payload), the chain starts at the documented genesis and covers them, and events
written afterwards continue it. Seeded as the writers before it stored events (a JSON document;
``jsonb`` on PostgreSQL), with gaps in the ids as a PostgreSQL sequence leaves them."""

from __future__ import annotations

import json
from datetime import timedelta

from alembic import command
from sqlalchemy import text

from keepdown.clock import utc
from keepdown.events import TaskRan
from keepdown.evidence import GENESIS, verify_chain
from keepdown.storage import head_revision, make_engine, open_storage_url, upgrade
from keepdown.storage.event_chain import SqlEventChain
from keepdown.storage.migrate import _config
from tests.evidence.conftest import varied_events

IDS = [1, 2, 3, 7, 8, 20, 21, 22, 23, 40, 41, 42]


def _at_0015(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0015")
        conn.commit()
    engine.dispose()


def _seed(url: str) -> list:
    events = varied_events(len(IDS))
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for row_id, event in zip(IDS, events, strict=True):
            at = event.at if postgres else event.at.replace(tzinfo=None).isoformat(" ")
            conn.execute(
                text(
                    "INSERT INTO events (id, kind, at, payload) VALUES (:i, :k, :a, "
                    + ("CAST(:p AS jsonb))" if postgres else ":p)")
                ),
                {"i": row_id, "k": event.kind, "a": at, "p": json.dumps(event.to_dict())},
            )
    engine.dispose()
    return events


def test_upgrade_keeps_every_event_and_chains_them(database_url: str) -> None:
    _at_0015(database_url)
    events = _seed(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT id, kind, at FROM events ORDER BY id")).all()
    assert upgrade(engine)[0] == "0015"
    engine.dispose()
    with open_storage_url(database_url) as storage:
        chain = SqlEventChain(storage.engine)
        with storage.engine.connect() as conn:
            after = conn.execute(text("SELECT id, kind, at FROM events ORDER BY id")).all()
        assert [tuple(r) for r in after] == [tuple(r) for r in before]
        assert list(storage.events.read()) == events  # payloads read back as they were
        info = chain.info()
        assert (info.genesis, info.backfilled, info.live_from) == (GENESIS, len(IDS), 43)
        result = verify_chain(chain)
        assert result.ok
        assert result.walked.checked == len(IDS)
        new = TaskRan(at=utc(2026, 9, 1), task="t", outcome="ok", seconds=0.5)
        storage.events.emit(new)
        assert chain.head().position == 43  # the next position after the last migrated id
        result = verify_chain(chain)
        assert result.ok
        assert result.walked.checked == len(IDS) + 1
        assert list(storage.events.read())[-1] == new


def test_upgrade_of_a_database_without_events_starts_at_the_genesis(database_url: str) -> None:
    _at_0015(database_url)
    engine = make_engine(database_url)
    assert upgrade(engine) == ("0015", head_revision())
    engine.dispose()
    with open_storage_url(database_url) as storage:
        chain = SqlEventChain(storage.engine)
        assert (chain.info().backfilled, chain.info().live_from) == (0, 1)
        storage.events.emit(
            TaskRan(at=utc(2026, 9, 1) + timedelta(1), task="t", outcome="ok", seconds=1)
        )
        assert verify_chain(chain).walked.checked == 1
