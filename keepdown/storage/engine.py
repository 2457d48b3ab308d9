"""Database engines: one place that knows how keepdown talks to SQLite and PostgreSQL.

SQLite (the embedded default) gets, on every connection: WAL journaling (readers never wait
for the writer, and a killed writer leaves nothing half-written), foreign keys on, a busy
timeout (a second writer waits for the write lock instead of failing at once) and real
transactions (``BEGIN`` is issued by SQLAlchemy, not guessed by the driver, so a transaction
that starts with a read is still one transaction).

Write transactions, the ones stores open with ``engine.begin()``, start with ``BEGIN
IMMEDIATE``: they take the write lock at once, waiting up to the busy timeout for it. A
deferred ``BEGIN`` would take it at the first write, and a transaction that read first
cannot wait there (its snapshot may be stale): SQLite fails it with "database is locked"
as soon as another writer holds the lock or has committed since, two threads of one
process included. Reads (``engine.connect()``, and explicit ``conn.begin()`` on such a
connection, as the index feed does) keep the deferred ``BEGIN`` and never wait for writers.

PostgreSQL URLs are used as given (``postgresql+psycopg://...``); extra query parameters reach
the driver, so ``?options=-csearch_path%3Dmyschema`` puts keepdown's tables in a schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from keepdown import files
from keepdown.errors import ConfigurationError, StorageError
from keepdown.storage.chain_sql import register_functions

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "inserted_id", "make_engine", "storage_errors"]

log = logging.getLogger("keepdown.storage")

#: How long a SQLite connection waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 30.0


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with keepdown's connection settings; SQLite's folder is created."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"database URL is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ConfigurationError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://"
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        _private_database(Path(database).expanduser())
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    engine.__class__ = _SqliteEngine  # begin(): write transactions (module docstring)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _private_database(path: Path) -> None:
    """The database file made 0600 in a 0700 folder before SQLite opens it (its WAL and
    shared-memory files take the database's mode); a readable existing one is warned of."""
    files.private_dir(path.parent)
    if not files.create_private(path) and files.loose(path):
        log.warning(
            "the database %s can be read by other accounts on this machine; "
            "restrict it with: chmod 600 %s*",
            path,
            path,
        )


class _SqliteEngine(Engine):
    """An SQLite engine whose :meth:`begin` opens write transactions (``BEGIN IMMEDIATE``)."""

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_on_begin): the driver's own
    # implicit BEGIN only precedes writes, which breaks read-then-write atomicity.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    # NORMAL is durable across process crashes in WAL mode (only a power cut may lose the
    # last commits), and much faster than FULL for bulk imports.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache (allocated only as used): the unique index of a million-entry bank
    # is ~100 MB, and with the default 2 MB a bulk import's random index inserts thrash.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()
    register_functions(dbapi_connection)  # the event chain's trigger calls it (chain_sql.py)


_WRITE = "keepdown_write"  # execution option: this connection's transaction writes


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn driver errors into :class:`StorageError` (integrity errors are the caller's job)."""
    try:
        yield
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        raise StorageError(f"database error while {what}: {exc.__class__.__name__}: {exc}") from exc


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key an ``INSERT`` just made (every keepdown table has one integer id)."""
    key = result.inserted_primary_key
    if key is None:
        raise StorageError("the database returned no id for the new row")
    return int(key[0])
