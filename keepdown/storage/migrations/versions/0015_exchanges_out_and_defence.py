"""What goes out to hash exchanges (the outbox of feedback and submissions, the planners'
cursors, the banks published to an exchange) and the defence against bad entries (match
counts, quarantines, negative banks) (owner: exchanges; see
``keepdown/storage/tables_exchanges.py``).

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _outbox() -> None:
    op.create_table(
        "exchange_outbox",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("feed_id", sa.Integer, nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("sent_version", sa.Integer, nullable=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("audit_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_outbox"),
        sa.UniqueConstraint("kind", "target", name="uq_exchange_outbox_kind_target"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_exchange_outbox_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.CheckConstraint("kind IN ('feedback', 'submission')", name="ck_exchange_outbox_kind"),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'uncertain')",
            name="ck_exchange_outbox_state",
        ),
    )
    op.create_index(
        "ix_exchange_outbox_state_next_attempt_at", "exchange_outbox", ["state", "next_attempt_at"]
    )
    op.create_table(
        "exchange_cursors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name", name="pk_exchange_cursors"),
    )


def _publications() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("feed_id", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("opted_in_by", sa.String(200), nullable=False),
        sa.Column("opted_in_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_publications"),
        sa.UniqueConstraint("bank_id", "feed_id", name="uq_publications_bank_id_feed_id"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_publications_bank_id_banks", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_publications_feed_id_feeds", ondelete="CASCADE"
        ),
    )


def _defence() -> None:
    op.create_table(
        "match_counts",
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("entry_id", "bucket", name="pk_match_counts"),
    )
    op.create_index("ix_match_counts_bucket", "match_counts", ["bucket"])
    op.create_table(
        "quarantines",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="active"),
        sa.Column("matches", sa.Integer, nullable=False),
        sa.Column("baseline", sa.Float, nullable=False),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("window_seconds", sa.Integer, nullable=False),
        sa.Column("quarantined_at", TIME, nullable=False),
        sa.Column("lifted_at", TIME, nullable=True),
        sa.Column("lifted_by", sa.String(200), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_quarantines"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name="fk_quarantines_entry_id_bank_entries",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("state IN ('active', 'lifted', 'removed')", name="ck_quarantines_state"),
    )
    op.create_index("ix_quarantines_entry_id_state", "quarantines", ["entry_id", "state"])
    op.create_table(
        "negative_banks",
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("scope", JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("bank_id", name="pk_negative_banks"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_negative_banks_bank_id_banks", ondelete="CASCADE"
        ),
    )


def upgrade() -> None:
    _outbox()
    _publications()
    _defence()


def downgrade() -> None:
    op.drop_table("negative_banks")
    op.drop_table("quarantines")
    op.drop_table("match_counts")
    op.drop_table("publications")
    op.drop_table("exchange_cursors")
    op.drop_table("exchange_outbox")
