"""Records for authorities (keepdown.filings).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``filing_profiles``: one row per organisation: its NCMEC reporter details and its DSA
  statement settings, with the *names* of the environment variables holding credentials
  (never a credential).
- ``cybertip_reports``: a CyberTipline report, its rendered ``<report>`` XML (sent as it is
  on every attempt), its state, NCMEC's report id, the step in flight under a lease, and the
  attempts; ``(organisation, source, source_ref)`` is unique: one report per upload or
  sighting. What a platform said about the account is inside the rendered XML only.
- ``cybertip_files``: the files of a report (their hashes and facts as JSON), NCMEC's file id
  once uploaded, and when their details were accepted.
- ``dsa_statements``: statements of reasons, one per (organisation, environment, puid), with
  the JSON body sent, its state, the batch that holds it under a lease, and the database's
  own id once created.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from keepdown.storage.schema import BigId, Json, UtcDateTime, metadata

__all__ = ["cybertip_files", "cybertip_reports", "dsa_statements", "filing_profiles"]

filing_profiles = Table(
    "filing_profiles",
    metadata,
    Column("organisation", String(200), primary_key=True),
    Column("profile", Json, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False, server_default=""),
)

cybertip_reports = Table(
    "cybertip_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation", String(200), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_ref", String(200), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("state", String(24), nullable=False),
    Column("report_xml", LargeBinary, nullable=False),
    Column("drafted_by", String(200), nullable=False),
    Column("drafted_at", UtcDateTime, nullable=False),
    Column("approved_by", String(200), nullable=False, server_default=""),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("ncmec_report_id", String(64), nullable=False, server_default=""),
    Column("opened_at", UtcDateTime, nullable=True),
    Column("last_step_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("in_flight", String(16), nullable=True),
    Column("lease_expires", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("restarts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("last_code", String(16), nullable=False, server_default=""),
    Column("retract_then", String(16), nullable=False, server_default=""),
    UniqueConstraint("organisation", "source", "source_ref"),
    Index(None, "state", "next_attempt_at"),
    CheckConstraint("source IN ('upload', 'sighting')", name="source"),
    CheckConstraint("environment IN ('test', 'production')", name="environment"),
    CheckConstraint(
        "state IN ('awaiting_approval', 'ready', 'open', 'finished', 'retracted', 'failed', "
        "'cancelled')",
        name="state",
    ),
)

cybertip_files = Table(
    "cybertip_files",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "report_id",
        Integer,
        ForeignKey("cybertip_reports.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("facts", Json, nullable=False),
    Column("ncmec_file_id", String(128), nullable=False, server_default=""),
    Column("uploaded", UtcDateTime, nullable=True),
    Column("described", UtcDateTime, nullable=True),
    UniqueConstraint("report_id", "position"),
)

dsa_statements = Table(
    "dsa_statements",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("organisation", String(200), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("puid", String(500), nullable=False),
    Column("decision", String(32), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("body", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("batch", String(64), nullable=False, server_default=""),
    Column("lease_expires", UtcDateTime, nullable=True),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("database_id", String(64), nullable=False, server_default=""),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("planned_at", UtcDateTime, nullable=False),
    UniqueConstraint("organisation", "environment", "puid"),
    Index(None, "organisation", "environment", "state"),
    CheckConstraint("environment IN ('sandbox', 'production')", name="environment"),
    CheckConstraint("state IN ('pending', 'sending', 'sent', 'existing', 'invalid')", name="state"),
)
