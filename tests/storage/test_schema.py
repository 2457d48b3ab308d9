"""The migrations build exactly the schema in keepdown.storage.schema, on both dialects."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from keepdown.storage import head_revision, make_engine, open_storage_url, upgrade
from keepdown.storage.migrate import read_revision
from keepdown.storage.schema import metadata


def test_new_database_is_created_at_head(database_url: str) -> None:
    with open_storage_url(database_url) as storage:
        assert read_revision(storage.engine) == head_revision()
        tables = set(inspect(storage.engine).get_table_names())
    assert {"organisations", "banks", "bank_entries", "imports", "events"} <= tables


def test_migrated_schema_matches_the_tables_in_code(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    engine.dispose()
    assert diffs == []


def test_upgrade_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    before, after = upgrade(engine)
    assert before is None
    assert after == head_revision()
    assert upgrade(engine) == (head_revision(), head_revision())
    engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path) -> None:
    path = tmp_path / "sub" / "k.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()
    assert path.parent.is_dir()  # the data folder is created on first use
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # WAL is persistent


def test_revisions_read_without_alembic_agree_with_alembic(database_url: str) -> None:
    from alembic.script import ScriptDirectory

    from keepdown.storage.migrate import _config, current_revision

    assert head_revision() == ScriptDirectory.from_config(_config()).get_current_head()
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert current_revision(conn) is None
    upgrade(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
