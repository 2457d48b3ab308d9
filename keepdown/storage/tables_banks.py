"""Banks of known hashes: the banks, their entries (with tombstones), the import journal and
who else may read a bank (migrations 0001, 0002).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``banks``: a bank, its owner organisation, provenance (source and its terms), default
  classification and label, trust (``review`` or ``auto``), its own thresholds, and whether it
  is enabled and opted in to robust matches;
- ``bank_entries``: one row per hash per bank; a removed entry keeps its row (the tombstone);
- ``imports``: the journal of hash-file imports (what each added, found, restored, removed);
- ``bank_shares``: organisations other than the owner and the operator that may read a bank
  (see :mod:`keepdown.auth.scope`).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from keepdown.storage.schema import BigId, Json, UtcDateTime, metadata

__all__ = ["VALUE_KEY_MAX", "bank_entries", "bank_shares", "banks", "entry_key", "imports"]

#: Longest value kept as its own key in ``bank_entries.value_key``; longer ones are digested.
VALUE_KEY_MAX = 128


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
    # Accepted into pooled matching by an operator admin (migration 0024; issue 16).
    Column("accepted_at", UtcDateTime, nullable=True),
    Column("accepted_by", String(200), nullable=True),
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

bank_shares = Table(
    "bank_shares",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column(
        "organisation_id",
        Integer,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("bank_id", "organisation_id"),
    Index(None, "organisation_id"),
)
