"""Feeds from hash exchanges: what fills a bank from NCMEC, StopNCII, ThreatExchange or a peer.

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``feeds``: one per bank filled from an exchange (a bank has at most one). How to reach the
  exchange (``url``, ``options``, and in ``secrets`` the *names* of the environment variables
  that hold its credentials: never a secret), the schedule, the switches (feedback,
  quarantine, guards), and where the fetch stands: the checkpoint (JSON,
  :class:`keepdown.exchanges.checkpoint.Checkpoint`), the status of the last run and the lease
  of the worker running one;
- ``feed_records``: every record the exchange sent, as its latest state (last writer wins on
  the exchange's ``updated_at``): its key, member, classification verbatim and mapped, status,
  all its fingerprints (the ones keepdown cannot match too), a small ``extra`` (tags, ids
  feedback needs), a deletion flag, and the generation of the last full fetch that saw it;
- ``feed_record_entries``: which bank entries each live record carries (a record may carry
  several hashes; two records may carry one hash), and, ``live`` false, the former links: a
  hash a record carried before (it carries others now, or it was withdrawn), which names the
  provenance of an entry nothing carries any more. An entry no live link carries is
  tombstoned;
- ``exchange_outbox``: what goes out to the exchanges, recorded before it is sent: feedback
  (one row per record and signal type: the latest verdict of the analysts, ``version``
  counting its changes, ``sent_version`` the one the exchange has) and submissions of a
  published bank's hashes (write-back; ``audit_id`` is the write-ahead audit record);
- ``exchange_cursors``: how far a planner has read a source (the review decisions' events);
- ``publications``: a bank an operator chose to publish to an exchange (write-back opt-in);
- ``match_counts``: matches per bank entry per time bucket (every process adds its own), the
  quarantine's measure; ``quarantines``: entries quarantined for a burst of matches, why, and
  who lifted it;
- ``negative_banks``: banks of benign hashes and the banks (feeds) each silences.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

from keepdown.storage.schema import BigId, Json, UtcDateTime, metadata

__all__ = [
    "exchange_cursors",
    "exchange_outbox",
    "feed_record_entries",
    "feed_records",
    "feeds",
    "match_counts",
    "negative_banks",
    "publications",
    "quarantines",
]

FEED_KINDS = ("ncmec", "stopncii", "threatexchange", "keepdown")
FEED_STATUSES = ("idle", "running", "retrying", "stalled", "failed")

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False, unique=True
    ),
    Column("kind", String(32), nullable=False),
    Column("url", Text, nullable=False, server_default=""),
    Column("options", Json, nullable=False),
    Column("secrets", Json, nullable=False),
    Column("every_seconds", Integer, nullable=False, server_default="3600"),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("feedback", Boolean, nullable=False, server_default=false()),
    Column("quarantine", Boolean, nullable=False, server_default=true()),
    Column("guards", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("checkpoint", Json, nullable=False),
    Column("checkpoint_at", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False, server_default="idle"),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("succeeded_at", UtcDateTime, nullable=True),
    Column("next_run_at", UtcDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires", UtcDateTime, nullable=True),
    Column("records", BigInteger, nullable=False, server_default="0"),
    Column("pages", BigInteger, nullable=False, server_default="0"),
    Column("bad_records", BigInteger, nullable=False, server_default="0"),
    Column("failures", Integer, nullable=False, server_default="0"),
    CheckConstraint("kind IN ('ncmec', 'stopncii', 'threatexchange', 'keepdown')", name="kind"),
    CheckConstraint(
        "status IN ('idle', 'running', 'retrying', 'stalled', 'failed')", name="status"
    ),
)

feed_records = Table(
    "feed_records",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("record_key", String(300), nullable=False),
    Column("member", String(200), nullable=True),
    Column("kind", String(64), nullable=True),
    Column("label", String(200), nullable=True),
    Column("category", String(32), nullable=True),
    Column("maturity", String(32), nullable=True),
    Column("status", String(64), nullable=True),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Column("fingerprints", Json, nullable=False),
    Column("extra", Json, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),  # the exchange's time of the change
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("generation", Integer, nullable=False, server_default="0"),
    UniqueConstraint("feed_id", "record_key"),
    Index(None, "feed_id", "generation"),
)

feed_record_entries = Table(
    "feed_record_entries",
    metadata,
    Column("record_id", BigId, ForeignKey("feed_records.id", ondelete="CASCADE"), nullable=False),
    Column("entry_id", BigId, ForeignKey("bank_entries.id", ondelete="CASCADE"), nullable=False),
    Column("live", Boolean, nullable=False, server_default=true()),
    PrimaryKeyConstraint("record_id", "entry_id"),
    Index(None, "entry_id"),
)

# --- feedback and write-back (what goes out to the exchanges) ---------------------------------

exchange_outbox = Table(
    "exchange_outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(16), nullable=False),  # feedback, submission
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    # What the message is about: one row per target; a new decision updates it (version).
    Column("target", String(300), nullable=False),
    Column("payload", Json, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("sent_version", Integer, nullable=True),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("audit_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    UniqueConstraint("kind", "target"),
    Index(None, "state", "next_attempt_at"),
    CheckConstraint("kind IN ('feedback', 'submission')", name="kind"),
    CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'uncertain')", name="state"),
)

exchange_cursors = Table(
    "exchange_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False, server_default="0"),
)

publications = Table(
    "publications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("tags", Json, nullable=False),
    Column("opted_in_by", String(200), nullable=False),
    Column("opted_in_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("bank_id", "feed_id"),
)

# --- the defence against bad entries -----------------------------------------------------------

match_counts = Table(
    "match_counts",
    metadata,
    Column("entry_id", BigId, nullable=False),
    Column("bucket", BigInteger, nullable=False),  # epoch seconds // bucket_seconds
    Column("count", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("entry_id", "bucket"),
    Index(None, "bucket"),
)

quarantines = Table(
    "quarantines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", BigId, ForeignKey("bank_entries.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False, server_default="active"),
    Column("matches", Integer, nullable=False),
    Column("baseline", Float, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("window_seconds", Integer, nullable=False),
    Column("quarantined_at", UtcDateTime, nullable=False),
    Column("lifted_at", UtcDateTime, nullable=True),
    Column("lifted_by", String(200), nullable=True),
    Column("note", Text, nullable=False, server_default=""),
    Index(None, "entry_id", "state"),
    CheckConstraint("state IN ('active', 'lifted', 'removed')", name="state"),
)

negative_banks = Table(
    "negative_banks",
    metadata,
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", Json, nullable=False),  # names of the banks it silences
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
