"""Schema migrations, run from code: ``keepdown db upgrade`` and the first open of a store.

The Alembic scripts ship inside the package (``keepdown/storage/migrations``), so an installed
keepdown can create and upgrade its database without an ``alembic.ini``.

1. Read the database's current revision (none for a new database).
2. If it is not the newest revision the package ships, run ``alembic upgrade head`` on the
   same connection, in one transaction where the dialect allows (PostgreSQL does DDL in
   transactions; SQLite's tables are created one statement at a time).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from keepdown.errors import StorageError

__all__ = ["MIGRATIONS_DIR", "current_revision", "head_revision", "read_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this version of keepdown ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revision 0001
        raise StorageError("no migrations found in the keepdown package", path=str(MIGRATIONS_DIR))
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for a database keepdown never touched."""
    return MigrationContext.configure(connection).get_current_revision()


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
                config = _config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
        return before, head
    except SQLAlchemyError as exc:
        raise StorageError(f"could not migrate the database: {exc}") from exc
