"""Feeds from hash exchanges: feeds, their records and which entries each record carries
(owner: exchanges; see ``keepdown/storage/tables_exchanges.py``).

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _feeds() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("url", sa.Text, nullable=False, server_default=""),
        sa.Column("options", JSON, nullable=False),
        sa.Column("secrets", JSON, nullable=False),
        sa.Column("every_seconds", sa.Integer, nullable=False, server_default="3600"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("feedback", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("quarantine", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("guards", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("checkpoint", JSON, nullable=False),
        sa.Column("checkpoint_at", TIME, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="idle"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("succeeded_at", TIME, nullable=True),
        sa.Column("next_run_at", TIME, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("records", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("pages", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("bad_records", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_feeds"),
        sa.UniqueConstraint("bank_id", name="uq_feeds_bank_id"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_feeds_bank_id_banks", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "kind IN ('ncmec', 'stopncii', 'threatexchange', 'keepdown')", name="ck_feeds_kind"
        ),
        sa.CheckConstraint(
            "status IN ('idle', 'running', 'retrying', 'stalled', 'failed')",
            name="ck_feeds_status",
        ),
    )


def _records() -> None:
    op.create_table(
        "feed_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("feed_id", sa.Integer, nullable=False),
        sa.Column("record_key", sa.String(300), nullable=False),
        sa.Column("member", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(64), nullable=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("maturity", sa.String(32), nullable=True),
        sa.Column("status", sa.String(64), nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("fingerprints", JSON, nullable=False),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_feed_records"),
        sa.UniqueConstraint("feed_id", "record_key", name="uq_feed_records_feed_id_record_key"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_feed_records_feed_id_feeds", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_feed_records_feed_id_generation", "feed_records", ["feed_id", "generation"])
    op.create_table(
        "feed_record_entries",
        sa.Column("record_id", BIG_ID, nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint("record_id", "entry_id", name="pk_feed_record_entries"),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["feed_records.id"],
            name="fk_feed_record_entries_record_id_feed_records",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name="fk_feed_record_entries_entry_id_bank_entries",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_feed_record_entries_entry_id", "feed_record_entries", ["entry_id"])


def upgrade() -> None:
    _feeds()
    _records()


def downgrade() -> None:
    op.drop_table("feed_record_entries")
    op.drop_table("feed_records")
    op.drop_table("feeds")
