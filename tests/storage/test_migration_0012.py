"""Migration 0012: banks opt in to robust matches; sightings accept ``near (robust)``.

Upgraded from a database at 0011 holding a bank and a sighting (SQLite rebuilds the
sightings table for its check constraint: the sighting must survive unchanged), then down.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from keepdown.storage import make_engine, upgrade
from keepdown.storage.migrate import _config, read_revision

NOW = "2026-01-01 00:00:00"
_SIGHTING = (
    "INSERT INTO sightings (sighting_key, page_url, media_url, final_url, sha256, md5, sha1, "
    "size, http_status, seen_at, state, match_type, variant) VALUES (:k, 'p', 'm', 'f', 's', "
    "'m', 's', 1, 200, :t, 'pending_review', :kind, :variant)"
)


def _to(url: str, revision: str, down: bool = False) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        config = _config()
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
        conn.commit()
    engine.dispose()


def test_upgrade_from_0011_and_back(database_url: str) -> None:
    _to(database_url, "0011")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'o', :t)"), {"t": NOW}
        )
        conn.execute(
            text(
                "INSERT INTO banks (id, name, owner_id, thresholds, created_at, updated_at) "
                "VALUES (1, 'b', 1, '{}', :t, :t)"
            ),
            {"t": NOW},
        )
        conn.execute(text(_SIGHTING), {"k": "a", "t": NOW, "kind": "near", "variant": "flipx"})
    engine.dispose()
    _to(database_url, "0012")
    engine = make_engine(database_url)
    assert read_revision(engine) == "0012"
    with engine.begin() as conn:
        assert conn.execute(text("SELECT robust FROM banks")).scalar_one() in (False, 0)
        assert conn.execute(text("SELECT match_type, variant FROM sightings")).one() == (
            "near",
            "flipx",
        )
        conn.execute(
            text(_SIGHTING),
            {"k": "b", "t": NOW, "kind": "near (robust)", "variant": "uncrop-2.5-0-2.5-5"},
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(_SIGHTING), {"k": "c", "t": NOW, "kind": "robust", "variant": None})
    engine.dispose()
    _to(database_url, "0011", down=True)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT match_type FROM sightings ORDER BY sighting_key")).all()
    engine.dispose()
    assert [k for (k,) in kinds] == ["near", "near"]
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
