"""Notices: notices, their locations, the delivery outbox, re-checks

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``notices``: one removal request to one provider, with a stable ``reference``
  (``KDN-<year>-<id>``) and its derived state (:func:`keepdown.notices.lifecycle.notice_state`);
- ``notice_locations``: each location a notice names, with its own lifecycle state and times
  (:class:`keepdown.notices.lifecycle.LocationStatus`), the hashes and classification the
  notice cites, and ``reappearance_of`` when it is known material back after a removal;
- ``notice_sightings``: which crawler sightings each location accounts for (a sighting is
  consumed once: the primary key is the sighting);
- ``notice_deliveries``: the outbox. A delivery is recorded (``pending``) before anything is
  sent, claimed (``sending``) before the network is touched, and settled (``sent``,
  ``failed``) after; a claim found expired after a crash becomes ``uncertain`` (e-mail: an
  operator confirms) or ``pending`` again (webhooks: the same idempotency key is re-sent).
  ``manual`` deliveries wait for an analyst to submit a web form and confirm;
- ``notice_checks``: every re-check of a location (present, gone, error) with its HTTP status
  and what the answer was (docs/notices.md, "What a re-check decides").
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
)

from keepdown.storage.schema import BigId, Json, UtcDateTime, metadata

__all__ = [
    "notice_checks",
    "notice_deliveries",
    "notice_locations",
    "notice_sightings",
    "notices",
]

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(32), nullable=False, unique=True),
    Column("provider_id", Integer, ForeignKey("providers.id"), nullable=False),
    Column("state", String(24), nullable=False),
    Column("language", String(2), nullable=False),
    Column("reappearance", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("first_sent_at", UtcDateTime, nullable=True),
    Column("last_sent_at", UtcDateTime, nullable=True),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("escalated_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Index(None, "provider_id", "state"),
    Index(None, "state"),
)

notice_locations = Table(
    "notice_locations",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("notice_id", Integer, ForeignKey("notices.id", ondelete="CASCADE"), nullable=False),
    Column("provider_id", Integer, ForeignKey("providers.id"), nullable=False),
    Column("sighting_id", BigId, ForeignKey("sightings.id", ondelete="SET NULL"), nullable=True),
    Column("media_url", Text, nullable=False),
    # The entry name when the media sat inside a ZIP at media_url ("" otherwise).
    Column("archive_member", Text, nullable=False, server_default=""),
    Column("page_url", Text, nullable=False),
    # sha256 of media_url: finds "the same URL" without indexing long text.
    Column("url_key", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("md5", String(32), nullable=False, server_default=""),
    Column("pdq", String(64), nullable=True),
    Column("bank", String(200), nullable=True),
    Column("entry_id", BigInteger, nullable=True),
    Column("category", String(64), nullable=True),
    Column("detection", String(16), nullable=False, server_default="crawl"),
    Column("state", String(16), nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("first_notice_at", UtcDateTime, nullable=True),
    Column("last_notice_at", UtcDateTime, nullable=True),
    Column("notices_sent", Integer, nullable=False, server_default="0"),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("removal_reported_at", UtcDateTime, nullable=True),
    Column("escalated_at", UtcDateTime, nullable=True),
    Column("disputed_at", UtcDateTime, nullable=True),
    Column("dispute_reason", Text, nullable=False, server_default=""),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("review_outcome", String(16), nullable=True),
    Column("removed_at", UtcDateTime, nullable=True),
    Column("last_check_at", UtcDateTime, nullable=True),
    Column("last_check_result", String(8), nullable=True),
    Column("next_check_at", UtcDateTime, nullable=True),
    Column("checks", Integer, nullable=False, server_default="0"),
    Column("errors_in_row", Integer, nullable=False, server_default="0"),
    # The last check that found it still there; the first of a run of gone answers waiting
    # for a confirming check; when an analyst reopened it after an upheld dispute.
    Column("last_present_at", UtcDateTime, nullable=True),
    Column("gone_since", UtcDateTime, nullable=True),
    Column("reopened_at", UtcDateTime, nullable=True),
    # The last time the crawler saw it at this place (a sighting linked to it).
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column(
        "reappearance_of",
        BigId,
        ForeignKey("notice_locations.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("reappearance_where", String(16), nullable=True),
    CheckConstraint(
        "state IN ('drafted', 'notified', 'acknowledged', 'renoticed', 'escalated', "
        "'disputed', 'removed', 'withdrawn')",
        name="state",
    ),
    CheckConstraint(
        "reappearance_where IS NULL OR reappearance_where IN "
        "('same_url', 'same_provider', 'other')",
        name="reappearance_where",
    ),
    Index(None, "notice_id"),
    Index(None, "state", "next_check_at"),
    Index(None, "url_key"),
    Index(None, "sha256"),
    Index(None, "provider_id", "url_key"),
)

notice_sightings = Table(
    "notice_sightings",
    metadata,
    Column(
        "sighting_id",
        BigId,
        ForeignKey("sightings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "location_id",
        BigId,
        ForeignKey("notice_locations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("linked_at", UtcDateTime, nullable=False),
)

notice_deliveries = Table(
    "notice_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("notice_id", Integer, ForeignKey("notices.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipients", Json, nullable=False),
    Column("location_ids", Json, nullable=False),
    # Message-ID (e-mail) or idempotency key (webhook): fixed when the intent is recorded,
    # so every attempt of one delivery carries the same one.
    Column("message_key", String(200), nullable=False, unique=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("lease_expires", UtcDateTime, nullable=True),
    # Set (committed) just before the message is handed over (SMTP DATA): a claim that dies
    # without it sent nothing; one that dies with it may have delivered.
    Column("handover_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    CheckConstraint("kind IN ('notice', 'renotice', 'escalation')", name="kind"),
    CheckConstraint("channel IN ('email', 'webhook', 'manual')", name="channel"),
    CheckConstraint(
        "state IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'manual', 'cancelled')",
        name="state",
    ),
    Index(None, "state", "next_attempt_at"),
    Index(None, "notice_id"),
)

notice_checks = Table(
    "notice_checks",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "location_id",
        BigId,
        ForeignKey("notice_locations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("result", String(8), nullable=False),
    Column("status", Integer, nullable=True),
    Column("detail", Text, nullable=False, server_default=""),
    # What the answer was (keepdown.notices.tracker.Answer: known, removed_status, refused,
    # unmatched, entry_gone, no_such_host, error...), and whether it waited for confirmation.
    Column("answer", String(16), nullable=False, server_default=""),
    Column("confirming", Boolean, nullable=False, server_default=false()),
    CheckConstraint("result IN ('present', 'gone', 'error')", name="result"),
    Index(None, "location_id", "at"),
)
