"""The SQL schema, as SQLAlchemy Core tables.

This module is the picture of the current schema; the Alembic migrations in
``keepdown/storage/migrations/versions`` are how a database gets there. A test checks that a
freshly migrated database matches these tables exactly, so the two cannot drift apart.

Times are stored as timezone-aware UTC (:class:`UtcDateTime`): SQLite keeps no zone, so values
are normalised to UTC on the way in and marked UTC on the way out, and both dialects hand back
the same aware ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

__all__ = ["BigId", "Json", "UtcDateTime", "aware", "metadata"]

#: Constraint names follow one convention so migrations can refer to them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite stores it without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("keepdown stores only timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def aware(value: Any) -> datetime:
    """A stored time as an aware UTC datetime: SQLite's ``min()``/``max()`` over a time column
    comes back untyped (text), and a naive time is UTC."""
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


#: Row ids that may grow past 2**31 (entries, events); SQLite wants INTEGER for its rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: JSON documents; JSONB on PostgreSQL so later issues can index into them.
Json = JSON().with_variant(JSONB(), "postgresql")


# Each concept's tables live in their own module on this metadata; importing them here makes
# `metadata` complete for the migration check and for create-at-head.
from keepdown.storage import (  # noqa: E402, F401
    tables_access,
    tables_banks,
    tables_blocklist,
    tables_crawl,
    tables_events,
    tables_exchanges,
    tables_federation,
    tables_filings,
    tables_finance,
    tables_notices,
    tables_providers,
    tables_review,
    tables_submissions,
)
