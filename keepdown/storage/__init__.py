"""SQL storage for keepdown: the schema, its migrations and a store for each domain protocol.

Open everything from settings with :func:`open_storage`; the database is created, or migrated
to the schema this version ships, on first use::

    with open_storage(settings) as storage:
        bank = storage.banks.get_bank("c3p")
        storage.events.emit(...)

SQLite (a file under the data dir) is the default; ``database_url`` = ``postgresql+psycopg://``
selects PostgreSQL. See ``docs/storage.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import Engine

from keepdown.settings import Settings
from keepdown.storage.bank_store import SqlBankStore
from keepdown.storage.engine import make_engine
from keepdown.storage.event_store import SqlEventStore
from keepdown.storage.migrate import current_revision, head_revision, upgrade

__all__ = [
    "SqlBankStore",
    "SqlEventStore",
    "Storage",
    "current_revision",
    "head_revision",
    "make_engine",
    "open_storage",
    "open_storage_url",
    "upgrade",
]


@dataclass
class Storage:
    """Every store over one engine. Close it (or use ``with``) to release connections."""

    engine: Engine
    banks: SqlBankStore
    events: SqlEventStore

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Storage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_storage_url(url: str, *, migrate: bool = True) -> Storage:
    """Storage at a database URL; with ``migrate`` the schema is brought up to date first."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return Storage(
        engine=engine,
        banks=SqlBankStore(engine),
        events=SqlEventStore(engine),
    )


def open_storage(settings: Settings, *, migrate: bool = True) -> Storage:
    """Storage at ``settings.resolved_database_url`` (SQLite in the data dir by default)."""
    return open_storage_url(settings.resolved_database_url, migrate=migrate)
