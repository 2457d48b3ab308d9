"""The URL block list (keepdown.blocklist).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``blocklist_serials``: one row per serial of the list (its primary key is what two
  concurrent refreshes race for: one wins, the other writes nothing);
- ``blocklist_entries``: what is listed now, one row per entry (``target_key``: SHA-256 of
  kind and target, unique);
- ``blocklist_changes``: every entry added or removed, by serial (deltas are read here);
- ``blocklist_domains``: whole domains an analyst listed, with who and why;
- ``blocklist_appeals``: requests to review a listed URL or domain, and their decisions.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from keepdown.storage.schema import BigId, UtcDateTime, metadata

__all__ = [
    "blocklist_appeals",
    "blocklist_changes",
    "blocklist_domains",
    "blocklist_entries",
    "blocklist_serials",
]

blocklist_serials = Table(
    "blocklist_serials",
    metadata,
    Column("serial", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("added", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
)

blocklist_entries = Table(
    "blocklist_entries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("target_key", String(64), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),
    Column("target", Text, nullable=False),
    Column("reason", String(16), nullable=False),
    Column("classification", String(64), nullable=False, server_default=""),
    Column("provider", String(200), nullable=False, server_default=""),
    Column("first_confirmed_at", UtcDateTime, nullable=False),
    Column("last_confirmed_at", UtcDateTime, nullable=True),
    Column("added_serial", Integer, nullable=False),
)

blocklist_changes = Table(
    "blocklist_changes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("serial", Integer, nullable=False),
    Column("op", String(8), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("target", Text, nullable=False),
    Column("reason", String(16), nullable=False),
    Column("classification", String(64), nullable=False, server_default=""),
    Column("provider", String(200), nullable=False, server_default=""),
    Column("first_confirmed_at", UtcDateTime, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("why", String(32), nullable=False, server_default=""),
    Index("ix_blocklist_changes_serial", "serial"),
)

blocklist_domains = Table(
    "blocklist_domains",
    metadata,
    Column("domain", String(255), primary_key=True),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("classification", String(64), nullable=False, server_default=""),
)

blocklist_appeals = Table(
    "blocklist_appeals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("target", Text, nullable=False),
    Column("contact", Text, nullable=False, server_default=""),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("decided_by", String(200), nullable=False, server_default=""),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("note", Text, nullable=False, server_default=""),
    Index("ix_blocklist_appeals_state", "state"),
)
