"""The SQL schema, as SQLAlchemy Core tables.

This module is the picture of the current schema; the Alembic migrations in
``keepdown/storage/migrations/versions`` are how a database gets there. A test checks that a
freshly migrated database matches these tables exactly, so the two cannot drift apart.

Times are stored as timezone-aware UTC (:class:`UtcDateTime`): SQLite keeps no zone, so values
are normalised to UTC on the way in and marked UTC on the way out, and both dialects hand back
the same aware ``datetime``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from keepdown.evidence.encoding import canonical_json

__all__ = [
    "api_keys",
    "audit_log",
    "bank_entries",
    "banks",
    "entry_key",
    "events",
    "imports",
    "metadata",
    "organisations",
]

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


#: Longest value kept as its own key in ``bank_entries.value_key``; longer ones are digested.
VALUE_KEY_MAX = 128


def aware(value: Any) -> datetime:
    """A stored time as an aware UTC datetime: SQLite's ``min()``/``max()`` over a time column
    comes back untyped (text), and a naive time is UTC."""
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def entry_key(value: str) -> str:
    """``bank_entries.value_key`` of a value: the value itself up to :data:`VALUE_KEY_MAX`
    characters (every PDQ, MD5, SHA-1 and SHA-256 hex), else ``sha256:`` and its digest.

    The unique constraint and every lookup by value use this key, so a long value (a vPDQ
    frame list) never goes into an index (PostgreSQL refuses index rows over ~2.7 kB). The
    forms cannot collide: a short value of any signal type is hex or JSON, never a
    ``sha256:`` string.
    """
    if len(value) <= VALUE_KEY_MAX:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


class EventPayload(TypeDecorator[Any]):
    """An event's payload, stored as the exact JSON text keepdown wrote (the canonical form of
    :mod:`keepdown.evidence.encoding`), because the event chain hashes the stored text.

    JSON on SQLite (text underneath) and PostgreSQL's ``json``, which keeps its input verbatim
    (``jsonb`` would re-render it). Writes take the canonical text itself (a dict is encoded
    canonically); reads give the parsed document, as any JSON column does.
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: Any) -> str | None:
            if value is None or isinstance(value, str):
                return value
            return canonical_json(value)

        return process


#: Row ids that may grow past 2**31 (entries, events); SQLite wants INTEGER for its rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: JSON documents; JSONB on PostgreSQL so later issues can index into them.
Json = JSON().with_variant(JSONB(), "postgresql")

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

banks = Table(
    "banks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("owner_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("source", String(500), nullable=False, server_default=""),
    Column("source_terms", Text, nullable=False, server_default=""),
    Column("category", String(32), nullable=True),
    Column("maturity", String(32), nullable=True),
    Column("default_label", String(200), nullable=True),
    Column("trust", String(16), nullable=False, server_default="review"),
    Column("thresholds", Json, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    # Opted in to "near (robust)" matches (robust query variants; migration 0016).
    Column("robust", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("trust IN ('review', 'auto')", name="trust"),
)

bank_entries = Table(
    "bank_entries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column("signal_type", String(16), nullable=False),
    # Any length: a vPDQ signal lists every frame of a video. Uniqueness is on value_key.
    Column("value", Text, nullable=False),
    Column("value_key", String(VALUE_KEY_MAX), nullable=False),
    Column("source_label", String(200), nullable=True),
    Column("category", String(32), nullable=True),
    Column("maturity", String(32), nullable=True),
    Column("source_id", String(200), nullable=True),
    Column("notes", Text, nullable=True),
    Column("added_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime, nullable=True),
    Column("removal_reason", String(32), nullable=True),
    # One row per hash per bank: imports rely on it for ON CONFLICT DO NOTHING, and a removed
    # entry keeps its row (the tombstone), so a removal can never be silently re-added.
    UniqueConstraint("bank_id", "signal_type", "value_key"),
    # Only tombstones are indexed: the match index reads them all after an import that removed
    # or restored entries (without it, a scan of the table: ~0.8 s per million entries).
    Index(
        None,
        "removed_at",
        sqlite_where=text("removed_at IS NOT NULL"),
        postgresql_where=text("removed_at IS NOT NULL"),
    ),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("lines", Integer, nullable=False, server_default="0"),
    Column("added", Integer, nullable=False, server_default="0"),
    Column("already_present", Integer, nullable=False, server_default="0"),
    Column("invalid", Integer, nullable=False, server_default="0"),
    Column("restored", Integer, nullable=False, server_default="0"),
    Column("kept_removed", Integer, nullable=False, server_default="0"),
    Column("removed", Integer, nullable=False, server_default="0"),
    CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("payload", EventPayload, nullable=False),
    # The event chain (keepdown.evidence.chain): set by the database's own trigger in the
    # insert's transaction (migration 0016); the id is the event's position in the chain.
    Column("chain_hash", LargeBinary(32), nullable=True),
    Index(None, "kind", "at"),
    Index(None, "at"),
)

# --- auth (issue 4: migration 0002_auth) ---

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", String(32), nullable=False, unique=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the whole token; the token itself is never stored.
    Column("secret_sha256", String(64), nullable=False),
    Column("label", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    CheckConstraint(
        "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator')", name="role"
    ),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("organisation", String(200), nullable=True),
    Column("role", String(16), nullable=True),
    Column("client_ip", String(64), nullable=True),
    Column("target", String(500), nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False, server_default="ok"),
    Column("details", Json, nullable=False),
    Index(None, "at"),
    Index(None, "action", "at"),
)


# Each domain's tables live in their own module on this metadata; importing them here makes
# `metadata` complete for the migration check and for create-at-head.
from keepdown.storage import (  # noqa: E402, F401
    tables_auth,
    tables_blocklist,
    tables_crawl,
    tables_evidence,
    tables_exchanges,
    tables_filings,
    tables_notices,
    tables_people,
    tables_providers,
    tables_reports,
    tables_submissions,
)
