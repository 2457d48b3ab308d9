"""The review queue's own rows, the analysts' decisions, the allow-list and wellbeing settings
(migration 0007).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``review_items``: one row per ``pending_review`` sighting that entered the queue: which
  queue (``main`` or ``senior``), who holds it until when (the claim), whether its holder
  revealed the media (``revealed_at``), and the final decision. The sighting's own ``state``
  stays the source of truth for confirmed/rejected (the notice service reads it);
- ``review_decisions``: every decision ever taken (skips and escalations included);
- ``allow_list``: candidates an analyst said are not a match, so they never come back for
  that bank entry (``entry_id`` NULL: for every entry);
- ``review_prefs``: each analyst's wellbeing settings (blur, grayscale, break reminder).
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
    false,
    true,
)

from keepdown.storage.schema import BigId, UtcDateTime, metadata

__all__ = ["allow_list", "review_decisions", "review_items", "review_prefs"]

review_items = Table(
    "review_items",
    metadata,
    Column(
        "sighting_id",
        BigId,
        ForeignKey("sightings.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("queue", String(8), nullable=False, server_default="main"),
    Column("enqueued_at", UtcDateTime, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("claim_expires", UtcDateTime, nullable=True),
    Column("revealed_at", UtcDateTime, nullable=True),
    Column("escalated_by", String(64), nullable=True),
    Column("escalated_at", UtcDateTime, nullable=True),
    Column("escalation_note", Text, nullable=False, server_default=""),
    Column("decision", String(16), nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    CheckConstraint("queue IN ('main', 'senior')", name="queue"),
    Index(None, "queue", "decided_at"),
)

review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("sighting_id", BigId, ForeignKey("sightings.id", ondelete="CASCADE"), nullable=False),
    Column("analyst", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("category", String(32), nullable=True),
    Column("note", Text, nullable=False, server_default=""),
    Column("allow_listed", Boolean, nullable=False, server_default=false()),
    Column("revealed", Boolean, nullable=False, server_default=false()),
    Column("at", UtcDateTime, nullable=False),
    CheckConstraint("decision IN ('confirm', 'not_a_match', 'escalate', 'skip')", name="decision"),
    Index(None, "sighting_id"),
    Index(None, "analyst", "at"),
)

allow_list = Table(
    "allow_list",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("pdq", String(64), nullable=True),
    Column("bank", String(200), nullable=True),
    Column("entry_id", BigId, nullable=True),
    Column("sighting_id", BigId, nullable=True),
    Column("added_by", String(64), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default=true()),
    Index(None, "sha256"),
)

review_prefs = Table(
    "review_prefs",
    metadata,
    Column("analyst", String(64), primary_key=True),
    Column("blur", Integer, nullable=False),
    Column("grayscale", Boolean, nullable=False, server_default=true()),
    Column("break_after_reviews", Integer, nullable=False),
    Column("break_after_minutes", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
