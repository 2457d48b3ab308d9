"""Accountability: financial indicators, their pages, alert subscriptions (owner: reports/finance).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def _pages_and_indicators() -> None:
    op.create_table(
        "finance_pages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("page_key", sa.String(64), nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=True),
        sa.Column("page_url", sa.Text, nullable=False),
        sa.Column("final_url", sa.Text, nullable=False),
        sa.Column("provider", sa.String(200), nullable=True),
        sa.Column("server_ip", sa.String(45), nullable=True),
        sa.Column("seen_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finance_pages"),
        sa.UniqueConstraint("page_key", name="uq_finance_pages_page_key"),
    )
    op.create_index("ix_finance_pages_crawl_id", "finance_pages", ["crawl_id"])
    op.create_table(
        "finance_indicators",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finance_indicators"),
        sa.UniqueConstraint("type", "value", name="uq_finance_indicators_type_value"),
    )
    op.create_table(
        "finance_indicator_pages",
        sa.Column("indicator_id", BIG_ID, nullable=False),
        sa.Column("page_id", BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint("indicator_id", "page_id", name="pk_finance_indicator_pages"),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["finance_indicators.id"],
            name="fk_finance_indicator_pages_indicator_id_finance_indicators",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["finance_pages.id"],
            name="fk_finance_indicator_pages_page_id_finance_pages",
            ondelete="CASCADE",
        ),
    )


def _subscriptions_and_alerts() -> None:
    op.create_table(
        "finance_subscriptions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("types", JSON_DOC, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finance_subscriptions"),
        sa.UniqueConstraint("name", name="uq_finance_subscriptions_name"),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name="ck_finance_subscriptions_channel"
        ),
    )
    op.create_table(
        "finance_alerts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("indicator_id", BIG_ID, nullable=False),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_finance_alerts"),
        sa.UniqueConstraint("message_key", name="uq_finance_alerts_message_key"),
        sa.UniqueConstraint(
            "subscription_id", "indicator_id", name="uq_finance_alerts_subscription_id_indicator_id"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["finance_subscriptions.id"],
            name="fk_finance_alerts_subscription_id_finance_subscriptions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["finance_indicators.id"],
            name="fk_finance_alerts_indicator_id_finance_indicators",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'uncertain')",
            name="ck_finance_alerts_state",
        ),
    )
    op.create_index("ix_finance_alerts_state", "finance_alerts", ["state"])


def upgrade() -> None:
    _pages_and_indicators()
    _subscriptions_and_alerts()


def downgrade() -> None:
    op.drop_table("finance_alerts")
    op.drop_table("finance_subscriptions")
    op.drop_table("finance_indicator_pages")
    op.drop_table("finance_indicators")
    op.drop_table("finance_pages")
