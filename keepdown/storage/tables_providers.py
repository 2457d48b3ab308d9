"""Hosting providers: the registry notices and attribution use

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``providers``: one row per provider (:class:`keepdown.notices.providers.Provider`). IP
  ranges, AS numbers, domains and abuse contacts are JSON lists: the registry is small
  (hundreds of rows) and attribution matches it in memory. ``organisation_id`` links the
  organisation whose provider-role keys act for this provider. ``webhook_secret_sealed`` is the
  secret that signs the provider's webhooks, encrypted (a Fernet token,
  :mod:`keepdown.notices.sealing`): a dump of this table does not reveal it.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table, Text

from keepdown.storage.schema import Json, UtcDateTime, metadata

__all__ = ["providers"]

providers = Table(
    "providers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("ip_ranges", Json, nullable=False),
    Column("asns", Json, nullable=False),
    Column("domains", Json, nullable=False),
    Column("abuse_contacts", Json, nullable=False),
    Column("channel", String(16), nullable=False, server_default="email"),
    Column("webhook_url", Text, nullable=True),
    Column("webhook_secret_sealed", Text, nullable=True),
    Column("language", String(2), nullable=False, server_default="en"),
    Column("country", String(2), nullable=False, server_default=""),
    Column("recheck_minutes", Integer, nullable=False, server_default="1440"),
    Column("renotice_minutes", Integer, nullable=False, server_default="1440"),
    Column("escalate_minutes", Integer, nullable=False, server_default="4320"),
    Column("forbidden_means", String(8), nullable=False, server_default="confirm"),
    Column("unmatched_means", String(8), nullable=False, server_default="confirm"),
    Column("escalation_target", String(16), nullable=True),
    Column("escalation_contact", String(320), nullable=True),
    Column(
        "organisation_id",
        Integer,
        ForeignKey("organisations.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("notes", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("channel IN ('email', 'webhook', 'manual')", name="channel"),
    CheckConstraint("language IN ('en', 'fr')", name="language"),
    CheckConstraint(
        "escalation_target IS NULL OR escalation_target IN "
        "('upstream', 'registrar', 'cdn', 'hotline', 'regulator')",
        name="escalation_target",
    ),
)
