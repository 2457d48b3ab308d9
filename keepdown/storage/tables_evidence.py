"""The event chain's own tables (migration 0016; keepdown.evidence, docs/transparency.md).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them. The chain itself is a column of ``events`` (``chain_hash``).

- ``event_chain``: one row describing this database's chain: its format version, the genesis
  hash it starts from, when it started, the first position written with the chain live
  (``live_from``: from there on positions follow each other without a gap) and how many
  events the migration found and chained (``backfilled``). On PostgreSQL the chain trigger
  also locks this table to put concurrent writers in one order.
- ``event_checkpoints``: signed checkpoints of the chain's head
  (:mod:`keepdown.evidence.checkpoints`), one per position at most: what keepdown publishes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, LargeBinary, String, Table

from keepdown.storage.schema import UtcDateTime, metadata

__all__ = ["event_chain", "event_checkpoints"]

event_chain = Table(
    "event_chain",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("genesis", LargeBinary(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("live_from", BigInteger, nullable=False),
    Column("backfilled", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

event_checkpoints = Table(
    "event_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False, unique=True),
    Column("head", LargeBinary(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("operator", String(200), nullable=False, server_default=""),
    Column("signature", LargeBinary(64), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
)
