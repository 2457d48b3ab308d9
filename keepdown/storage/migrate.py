"""Schema migrations, run from code: ``keepdown db upgrade`` and the first open of a store.

The Alembic scripts ship inside the package (``keepdown/storage/migrations``), so an installed
keepdown can create and upgrade its database without an ``alembic.ini``.

1. Read the database's current revision (none for a new database).
2. If it is not the newest revision the package ships, run ``alembic upgrade head`` on the
   same connection, in one transaction where the dialect allows (PostgreSQL does DDL in
   transactions; SQLite's tables are created one statement at a time).

Alembic is imported only for step 2: steps 1 and the head revision read the version table
and the scripts' ``revision = "..."`` lines directly. Importing Alembic (and Mako, which it
pulls in) cost 0.4-0.6 s of every process's start, for a database that is already current
(tests/storage/test_schema.py checks both readings agree with Alembic's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from keepdown.errors import StorageError

__all__ = ["MIGRATIONS_DIR", "current_revision", "head_revision", "read_revision", "upgrade"]

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|None)\s*$', re.M)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision this version of keepdown ships: the one no script builds on."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = {m[1]: m[2] for m in _REVISION.finditer(script.read_text(encoding="utf-8"))}
        if fields.get("revision"):
            revisions.add(fields["revision"])
        if fields.get("down_revision"):
            parents.add(fields["down_revision"])
    heads = revisions - parents
    if len(heads) != 1:  # pragma: no cover - the package ships one line of revisions
        raise StorageError(
            f"the keepdown package ships {len(heads)} head revisions: {sorted(heads)}",
            path=str(MIGRATIONS_DIR),
        )
    return heads.pop()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for a database keepdown never touched."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise StorageError(f"the database is stamped with several revisions: {sorted(rows)}")
    return rows[0] if rows else None


def read_revision(engine: Engine) -> str | None:
    """:func:`current_revision` on a connection of its own."""
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    except SQLAlchemyError as exc:
        raise StorageError(f"could not read the database's revision: {exc}") from exc


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest revision; returns (revision before, revision after)."""
    try:
        with engine.connect() as connection:
            before = current_revision(connection)
            connection.rollback()
            head = head_revision()
            if before != head:
                with _sqlite_foreign_keys_off(connection):
                    _run_upgrade(connection)
        return before, head
    except SQLAlchemyError as exc:
        raise StorageError(f"could not migrate the database: {exc}") from exc


def _run_upgrade(connection: Connection) -> None:
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            connection.rollback()
            raise StorageError(f"the migration would break {len(broken)} foreign keys")
    connection.commit()


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite's own recipe for rebuilding a table (its "ALTER TABLE" page): foreign keys off
    outside the transaction, checked before the commit (:func:`_run_upgrade`), then on again.

    With them on, dropping the old copy of a table that others point at would run their ``ON
    DELETE`` actions (a bank entry's sightings would lose it). Off and on only work outside a
    transaction, so they go straight to the driver (in autocommit mode, engine.py).
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
