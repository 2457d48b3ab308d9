"""Federation between hotlines (keepdown.federation; docs/federation.md).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``peers``: another hotline's keepdown: its organisation's name, the countries it covers,
  its API's base URL, its raw Ed25519 public key and the *name* of the environment variable
  holding the key it issued us (never the key);
- ``peer_publications``: a bank published to a peer (an explicit, audited choice);
- ``federation_outbox``: every message this instance sends a peer (referrals, status
  callbacks), signed once when planned and sent as it is on every attempt; ``(peer_id,
  stream, seq)`` and ``dedupe`` are unique, so planning twice sends once;
- ``federation_inbox``: every message accepted from a peer, by (peer, stream, seq) with the
  body's digest: the replay record;
- ``referrals``: referrals in both directions: ``direction`` ``out`` (ours, with the
  sighting's location) or ``in`` (a peer's, with the reported URL it became), the peer's
  reference and ours; ``referral_events``: the timeline of each (status callbacks received
  for ours, statuses sent for theirs).
"""

from __future__ import annotations

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
    true,
)

from keepdown.storage.schema import BigId, Json, UtcDateTime, metadata

__all__ = [
    "federation_inbox",
    "federation_outbox",
    "peer_publications",
    "peers",
    "referral_events",
    "referrals",
]

peers = Table(
    "peers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("countries", Json, nullable=False),
    Column("url", String(500), nullable=False),
    Column("public_key", String(64), nullable=False),  # base64 of the raw 32 bytes
    Column("token_env", String(128), nullable=False, server_default=""),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

peer_publications = Table(
    "peer_publications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    UniqueConstraint("bank_id", "peer_id"),
)

federation_outbox = Table(
    "federation_outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), nullable=False),
    Column("stream", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("dedupe", String(300), nullable=False, unique=True),
    Column("envelope", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    UniqueConstraint("peer_id", "stream", "seq"),
    Index(None, "state", "next_attempt_at"),
    CheckConstraint("stream IN ('referral', 'status')", name="stream"),
    CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed')", name="state"),
)

federation_inbox = Table(
    "federation_inbox",
    metadata,
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), primary_key=True),
    Column("stream", String(16), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("accepted_at", UtcDateTime, nullable=False),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("direction", String(8), nullable=False),
    Column("peer_id", Integer, ForeignKey("peers.id", ondelete="CASCADE"), nullable=False),
    # ours: the originator's reference (ours for "out", the peer's for "in")
    Column("reference", String(100), nullable=False),
    # out: the sighting's location id; in: the reported URL's reference it became
    Column("local_ref", String(100), nullable=False, server_default=""),
    Column("country", String(2), nullable=False, server_default=""),
    Column("body", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("direction", "peer_id", "reference"),
    CheckConstraint("direction IN ('out', 'in')", name="direction"),
)

referral_events = Table(
    "referral_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("referral_id", Integer, ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("referral_id", "status"),
)
