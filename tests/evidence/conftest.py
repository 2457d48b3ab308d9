"""Fixtures for the evidence tests: a signing key, a log of varied events, SQL tampering."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from keepdown.clock import utc
from keepdown.events import (
    Event,
    LocationRechecked,
    NoticeSent,
    RemovalConfirmed,
    SightingRecorded,
    TaskRan,
)
from keepdown.evidence import SigningKey

T0 = utc(2026, 7, 1, 9)


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return SigningKey.load(tmp_path / "evidence.pem", create=True)


def varied_events(n: int = 12) -> list[Event]:
    """``n`` events of several kinds, with non-ASCII text, times, tuples and floats."""
    found: list[Event] = []
    for i in range(n):
        at = T0 + timedelta(minutes=i, microseconds=i)
        match i % 5:
            case 0:
                found.append(
                    SightingRecorded(
                        at=at,
                        sighting_id=str(i),
                        media_url=f"http://hôte.test/{i}.jpg",
                        page_url="http://hôte.test/",
                        bank="b",
                        entry_id=i,
                        match_type="exact",
                        state="confirmed",
                    )
                )
            case 1:
                found.append(
                    NoticeSent(at=at, notice_ref=f"KD-{i}", provider="p", locations=(str(i),))
                )
            case 2:
                found.append(
                    LocationRechecked(
                        at=at, location_id=str(i), provider="p", result="present", status=200
                    )
                )
            case 3:
                found.append(
                    RemovalConfirmed(
                        at=at,
                        location_id=str(i),
                        notice_ref="KD-1",
                        provider="p",
                        first_notice_at=T0,
                    )
                )
            case _:
                found.append(TaskRan(at=at, task="keepdown.notices", outcome="ok", seconds=0.125))
    return found


def tamper(engine: Engine, statements: Sequence[str]) -> None:
    """Change the events table as someone with the database's own rights could: the guard
    triggers go first (that is all they stop), then the statements run."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_append_only_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_append_only_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER USER")
        for statement in statements:
            conn.exec_driver_sql(statement)
        if engine.dialect.name != "sqlite":
            conn.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER USER")
