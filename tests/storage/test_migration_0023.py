"""Migration 0023: providers' cadence in minutes (each hour value times 60) and their answer
meanings (``confirm`` for existing providers); down and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from keepdown.storage import make_engine, upgrade
from keepdown.storage.migrate import _config

NOW = "2026-01-01 00:00:00"


def _to(url: str, revision: str, down: bool = False) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        config = _config()
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
        conn.commit()
    engine.dispose()


def _rows(url: str, columns: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM providers"))]
    engine.dispose()
    return rows


def test_hours_become_minutes_and_back(database_url: str) -> None:
    _to(database_url, "0022")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO providers (name, ip_ranges, asns, domains, abuse_contacts, "
                "recheck_hours, renotice_hours, escalate_hours, created_at, updated_at) "
                "VALUES ('P', '[]', '[]', '[]', '[]', 2, 24, 72, :t, :t)"
            ),
            {"t": NOW},
        )
    engine.dispose()
    _to(database_url, "0023")
    assert _rows(
        database_url,
        "recheck_minutes, renotice_minutes, escalate_minutes, forbidden_means, unmatched_means",
    ) == [(120, 1440, 4320, "confirm", "confirm")]
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE providers SET recheck_minutes = 5"))
    engine.dispose()
    _to(database_url, "0022", down=True)
    # a 5-minute cadence is kept as the shortest the older schema can say: 1 hour
    assert _rows(database_url, "recheck_hours, renotice_hours, escalate_hours") == [(1, 24, 72)]
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
