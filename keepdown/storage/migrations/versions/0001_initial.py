"""Initial schema: organisations, banks, bank entries (with tombstones), imports, events.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision (never import schema.py
# here: a migration must keep meaning what it meant when it was written).
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("name", name="uq_organisations_name"),
    )
    op.create_table(
        "banks",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("source", sa.String(500), nullable=False, server_default=""),
        sa.Column("source_terms", sa.Text, nullable=False, server_default=""),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("maturity", sa.String(32), nullable=True),
        sa.Column("default_label", sa.String(200), nullable=True),
        sa.Column("trust", sa.String(16), nullable=False, server_default="review"),
        sa.Column("thresholds", JSON_DOC, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_banks"),
        sa.UniqueConstraint("name", name="uq_banks_name"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organisations.id"], name="fk_banks_owner_id_organisations"
        ),
        sa.CheckConstraint("trust IN ('review', 'auto')", name="ck_banks_trust"),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("source_label", sa.String(200), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("maturity", sa.String(32), nullable=True),
        sa.Column("source_id", sa.String(200), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("removed_at", TIME, nullable=True),
        sa.Column("removal_reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bank_entries"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_bank_entries_bank_id_banks", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "bank_id", "signal_type", "value", name="uq_bank_entries_bank_id_signal_type_value"
        ),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        *[
            sa.Column(name, sa.Integer, nullable=False, server_default="0")
            for name in (
                "lines",
                "added",
                "already_present",
                "invalid",
                "restored",
                "kept_removed",
                "removed",
            )
        ],
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_imports_bank_id_banks", ondelete="CASCADE"
        ),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="ck_imports_status"),
    )
    op.create_table(
        "events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_kind_at", "events", ["kind", "at"])
    op.create_index("ix_events_at", "events", ["at"])


def downgrade() -> None:
    for table in ("events", "imports", "bank_entries", "banks", "organisations"):
        op.drop_table(table)
