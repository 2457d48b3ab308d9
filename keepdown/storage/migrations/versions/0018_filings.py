"""Records for authorities (owner: filings; see ``keepdown/storage/tables_filings.py``):
filing profiles, CyberTipline reports and their files, statements of reasons.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _profiles() -> None:
    op.create_table(
        "filing_profiles",
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("profile", JSON, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("organisation", name="pk_filing_profiles"),
    )


def _reports() -> None:
    op.create_table(
        "cybertip_reports",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("report_xml", sa.LargeBinary, nullable=False),
        sa.Column("drafted_by", sa.String(200), nullable=False),
        sa.Column("drafted_at", TIME, nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("approved_at", TIME, nullable=True),
        sa.Column("ncmec_report_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("opened_at", TIME, nullable=True),
        sa.Column("last_step_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("in_flight", sa.String(16), nullable=True),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("restarts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("last_code", sa.String(16), nullable=False, server_default=""),
        sa.Column("retract_then", sa.String(16), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_cybertip_reports"),
        sa.UniqueConstraint(
            "organisation",
            "source",
            "source_ref",
            name="uq_cybertip_reports_organisation_source_source_ref",
        ),
        sa.CheckConstraint("source IN ('upload', 'sighting')", name="ck_cybertip_reports_source"),
        sa.CheckConstraint(
            "environment IN ('test', 'production')", name="ck_cybertip_reports_environment"
        ),
        sa.CheckConstraint(
            "state IN ('awaiting_approval', 'ready', 'open', 'finished', 'retracted', 'failed', "
            "'cancelled')",
            name="ck_cybertip_reports_state",
        ),
    )
    op.create_index(
        "ix_cybertip_reports_state_next_attempt_at",
        "cybertip_reports",
        ["state", "next_attempt_at"],
    )
    op.create_table(
        "cybertip_files",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("ncmec_file_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("uploaded", TIME, nullable=True),
        sa.Column("described", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cybertip_files"),
        sa.UniqueConstraint("report_id", "position", name="uq_cybertip_files_report_id_position"),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["cybertip_reports.id"],
            name="fk_cybertip_files_report_id_cybertip_reports",
            ondelete="CASCADE",
        ),
    )


def _statements() -> None:
    op.create_table(
        "dsa_statements",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("puid", sa.String(500), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("batch", sa.String(64), nullable=False, server_default=""),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("database_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("planned_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dsa_statements"),
        sa.UniqueConstraint(
            "organisation",
            "environment",
            "puid",
            name="uq_dsa_statements_organisation_environment_puid",
        ),
        sa.CheckConstraint(
            "environment IN ('sandbox', 'production')", name="ck_dsa_statements_environment"
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'existing', 'invalid')",
            name="ck_dsa_statements_state",
        ),
    )
    op.create_index(
        "ix_dsa_statements_organisation_environment_state",
        "dsa_statements",
        ["organisation", "environment", "state"],
    )


def upgrade() -> None:
    _profiles()
    _reports()
    _statements()


def downgrade() -> None:
    op.drop_table("dsa_statements")
    op.drop_table("cybertip_files")
    op.drop_table("cybertip_reports")
    op.drop_table("filing_profiles")
