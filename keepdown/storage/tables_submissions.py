"""Self-submitted hashes, held uploads and removal requests (keepdown.submissions).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``self_submissions``: one row per submission: its case number, the Argon2id hash of its PIN
  (never the PIN), the person's two answers, the bank its hashes went to, its status, and the
  wrong-PIN count and lock. No name, address, picture or file name is ever stored.
- ``self_submission_hashes``: the hashes of each submission (one row per hash; the item
  number says which picture or video). The programme bank's entries are derived from these.
- ``upload_holds``: a platform's upload that matched a self-submitted bank, held for an
  analyst: the platform's own reference to it, its hashes, the match, the decision.
- ``removal_requests``: a request to remove a person's pictures from a platform using keepdown,
  with its clock (``received_at``, ``due_at``), where it came from, and how it ended.
- ``removal_request_hashes``: what a sweep of the platform's content looks for.
- ``removal_items``: every copy found for a request (named, held upload, sweep), when it was
  removed and by whom, or who dismissed it as not the same picture.
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
    false,
)

from keepdown.storage.schema import BigId, UtcDateTime, metadata

__all__ = [
    "removal_items",
    "removal_request_hashes",
    "removal_requests",
    "self_submission_hashes",
    "self_submissions",
    "upload_holds",
]

self_submissions = Table(
    "self_submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_number", String(12), nullable=False, unique=True),
    Column("pin_hash", String(255), nullable=False),
    Column("programme", String(16), nullable=False),
    Column("age_at_time", String(16), nullable=False),
    Column("share_with_platforms", Boolean, nullable=False),
    Column("bank_id", Integer, ForeignKey("banks.id"), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("images", Integer, nullable=False, server_default="0"),
    Column("videos", Integer, nullable=False, server_default="0"),
    Column("hashes", Integer, nullable=False, server_default="0"),
    Column("failed_pin_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("withdrawn_at", UtcDateTime, nullable=True),
    CheckConstraint("programme IN ('minors', 'adults')", name="programme"),
    CheckConstraint("status IN ('active', 'withdrawn')", name="status"),
)

self_submission_hashes = Table(
    "self_submission_hashes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "submission_id",
        Integer,
        ForeignKey("self_submissions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("item", Integer, nullable=False),
    Column("media", String(8), nullable=False),
    Column("signal_type", String(16), nullable=False),
    Column("value", String(128), nullable=False),
    Column("variant", String(16), nullable=True),
    Column("quality", Integer, nullable=True),
    UniqueConstraint("submission_id", "signal_type", "value"),
    Index(None, "signal_type", "value"),
    CheckConstraint("media IN ('image', 'video')", name="media"),
)

upload_holds = Table(
    "upload_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("content_ref", String(1024), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pdq", String(64), nullable=True),
    Column("quality", Integer, nullable=True),
    Column("bank_id", Integer, ForeignKey("banks.id"), nullable=False),
    Column("entry_id", BigId, nullable=False),
    Column("signal_type", String(16), nullable=False),
    Column("match_type", String(8), nullable=False),
    Column("distance", Integer, nullable=False),
    Column("variant", String(16), nullable=True),
    Column("state", String(16), nullable=False, server_default="held"),
    Column("held_at", UtcDateTime, nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("note", Text, nullable=False, server_default=""),
    Index(None, "state", "held_at"),
    Index(None, "organisation_id", "sha256"),
    CheckConstraint("state IN ('held', 'confirmed', 'not_a_match')", name="state"),
    CheckConstraint("match_type IN ('exact', 'near')", name="match_type"),
)

removal_requests = Table(
    "removal_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("submission_id", Integer, ForeignKey("self_submissions.id"), nullable=True),
    Column("hold_id", Integer, ForeignKey("upload_holds.id"), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False, server_default="open"),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("first_closed_at", UtcDateTime, nullable=True),
    Column("ended_reason", String(200), nullable=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("contact", String(320), nullable=False, server_default=""),
    Column("created_by", String(200), nullable=False),
    Column("last_sweep_at", UtcDateTime, nullable=True),
    Column("swept", Boolean, nullable=False, server_default=false()),
    Index(None, "state", "due_at"),
    Index(None, "submission_id"),
    CheckConstraint("origin IN ('person', 'self-submission')", name="origin"),
    CheckConstraint("state IN ('open', 'closed', 'withdrawn')", name="state"),
)

removal_request_hashes = Table(
    "removal_request_hashes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "request_id", Integer, ForeignKey("removal_requests.id", ondelete="CASCADE"), nullable=False
    ),
    Column("signal_type", String(16), nullable=False),
    Column("value", String(128), nullable=False),
    UniqueConstraint("request_id", "signal_type", "value"),
)

removal_items = Table(
    "removal_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "request_id", Integer, ForeignKey("removal_requests.id", ondelete="CASCADE"), nullable=False
    ),
    Column("content_ref", String(1024), nullable=False),
    Column("how", String(16), nullable=False),
    Column("source", String(1024), nullable=False, server_default=""),
    Column("sha256", String(64), nullable=True),
    Column("pdq", String(64), nullable=True),
    Column("signal_type", String(16), nullable=True),
    Column("match_type", String(8), nullable=True),
    Column("distance", Integer, nullable=True),
    Column("found_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime, nullable=True),
    Column("removed_by", String(200), nullable=True),
    Column("removal_note", Text, nullable=False, server_default=""),
    Column("seen_again_at", UtcDateTime, nullable=True),
    Column("dismissed_at", UtcDateTime, nullable=True),
    Column("dismissed_by", String(200), nullable=True),
    UniqueConstraint("request_id", "content_ref"),
    CheckConstraint("how IN ('named', 'upload', 'sweep')", name="how"),
)
