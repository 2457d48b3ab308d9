"""Hosting providers: the registry notices and attribution use (owner: notices).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ip_ranges", JSON_DOC, nullable=False),
        sa.Column("asns", JSON_DOC, nullable=False),
        sa.Column("domains", JSON_DOC, nullable=False),
        sa.Column("abuse_contacts", JSON_DOC, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False, server_default="email"),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("webhook_secret_sealed", sa.Text, nullable=True),
        sa.Column("language", sa.String(2), nullable=False, server_default="en"),
        sa.Column("country", sa.String(2), nullable=False, server_default=""),
        sa.Column("recheck_hours", sa.Integer, nullable=False, server_default="24"),
        sa.Column("renotice_hours", sa.Integer, nullable=False, server_default="24"),
        sa.Column("escalate_hours", sa.Integer, nullable=False, server_default="72"),
        sa.Column("escalation_target", sa.String(16), nullable=True),
        sa.Column("escalation_contact", sa.String(320), nullable=True),
        sa.Column("organisation_id", sa.Integer, nullable=True),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_providers"),
        sa.UniqueConstraint("name", name="uq_providers_name"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_providers_organisation_id_organisations",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook', 'manual')", name="ck_providers_channel"
        ),
        sa.CheckConstraint("language IN ('en', 'fr')", name="ck_providers_language"),
        sa.CheckConstraint(
            "escalation_target IS NULL OR escalation_target IN "
            "('upstream', 'registrar', 'cdn', 'hotline', 'regulator')",
            name="ck_providers_escalation_target",
        ),
    )


def downgrade() -> None:
    op.drop_table("providers")
