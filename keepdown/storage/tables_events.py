"""The event log and its chain: every event keepdown records, the chain's description, and its
signed checkpoints (migrations 0001, 0016; keepdown.evidence, docs/transparency.md).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``events``: every domain event, its payload stored as the exact canonical JSON keepdown
  wrote (the chain hashes the stored text) and its ``chain_hash``, set by the database's own
  trigger in the insert's transaction (the id is the event's position in the chain);
- ``event_chain``: one row describing this database's chain: its format version, the genesis
  hash it starts from, when it started, the first position written with the chain live
  (``live_from``: from there on positions follow each other without a gap) and how many
  events the migration found and chained (``backfilled``). On PostgreSQL the chain trigger
  also locks this table to put concurrent writers in one order.
- ``event_checkpoints``: signed checkpoints of the chain's head
  (:mod:`keepdown.evidence.checkpoints`), one per position at most: what keepdown publishes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)
from sqlalchemy.types import TypeDecorator

from keepdown.evidence.encoding import canonical_json
from keepdown.storage.schema import BigId, UtcDateTime, metadata

__all__ = ["EventPayload", "event_chain", "event_checkpoints", "events"]


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
