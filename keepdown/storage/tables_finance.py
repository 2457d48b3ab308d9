"""Accountability: financial indicators, the pages they were seen on, alert subscriptions

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``finance_pages``: a crawled page that held at least one payment indicator (one row per crawl
  and page: ``page_key`` is the sha256 of ``crawl|page_url``), with its final URL, provider and
  time. Whether known material was confirmed there is joined at query time from ``sightings``
  (same crawl, page URL or final URL, state ``confirmed``);
- ``finance_indicators``: each distinct indicator (type + canonical value);
- ``finance_indicator_pages``: which indicator was on which page;
- ``finance_subscriptions``: financial institutions that asked for alerts (channel, target,
  threshold of confirmed sightings, indicator types; a webhook's HMAC secret, never shown);
- ``finance_alerts``: the alert outbox, one row per subscription and indicator (the unique
  pair is what makes an alert go out once), with what was sent and when.
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
    "finance_alerts",
    "finance_indicator_pages",
    "finance_indicators",
    "finance_pages",
    "finance_subscriptions",
]

finance_pages = Table(
    "finance_pages",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("page_key", String(64), nullable=False, unique=True),
    # The crawl (crawls.id) when the page came from a stored crawl; no foreign key so that
    # deleting a crawl keeps the indicators and their history.
    Column("crawl_id", Integer, nullable=True),
    Column("page_url", Text, nullable=False),
    Column("final_url", Text, nullable=False),
    Column("provider", String(200), nullable=True),
    Column("server_ip", String(45), nullable=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Index(None, "crawl_id"),
)

finance_indicators = Table(
    "finance_indicators",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("type", String(16), nullable=False),
    Column("value", String(512), nullable=False),
    Column("detail", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("type", "value"),
)

finance_indicator_pages = Table(
    "finance_indicator_pages",
    metadata,
    Column(
        "indicator_id",
        BigId,
        ForeignKey("finance_indicators.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("page_id", BigId, ForeignKey("finance_pages.id", ondelete="CASCADE"), primary_key=True),
)

finance_subscriptions = Table(
    "finance_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("target", String(2000), nullable=False),
    Column("secret", String(200), nullable=True),
    Column("threshold", Integer, nullable=False),
    Column("types", Json, nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
)

finance_alerts = Table(
    "finance_alerts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "subscription_id",
        Integer,
        ForeignKey("finance_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "indicator_id",
        BigId,
        ForeignKey("finance_indicators.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("message_key", String(200), nullable=False, unique=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("lease_expires", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("subscription_id", "indicator_id"),
    CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'uncertain')", name="state"),
    Index(None, "state"),
)
