"""Self-submitted hashes, held uploads and removal requests (owner: submissions).

See ``keepdown/storage/tables_submissions.py`` for what each table holds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _submissions() -> None:
    op.create_table(
        "self_submissions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_number", sa.String(12), nullable=False),
        sa.Column("pin_hash", sa.String(255), nullable=False),
        sa.Column("programme", sa.String(16), nullable=False),
        sa.Column("age_at_time", sa.String(16), nullable=False),
        sa.Column("share_with_platforms", sa.Boolean, nullable=False),
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("images", sa.Integer, nullable=False, server_default="0"),
        sa.Column("videos", sa.Integer, nullable=False, server_default="0"),
        sa.Column("hashes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed_pin_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("withdrawn_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_self_submissions"),
        sa.UniqueConstraint("case_number", name="uq_self_submissions_case_number"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name="fk_self_submissions_bank_id_banks"
        ),
        sa.CheckConstraint(
            "programme IN ('minors', 'adults')", name="ck_self_submissions_programme"
        ),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name="ck_self_submissions_status"),
    )
    op.create_table(
        "self_submission_hashes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("submission_id", sa.Integer, nullable=False),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("media", sa.String(8), nullable=False),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(16), nullable=True),
        sa.Column("quality", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_self_submission_hashes"),
        sa.UniqueConstraint(
            "submission_id",
            "signal_type",
            "value",
            name="uq_self_submission_hashes_submission_id_signal_type_value",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["self_submissions.id"],
            name="fk_self_submission_hashes_submission_id_self_submissions",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("media IN ('image', 'video')", name="ck_self_submission_hashes_media"),
    )
    op.create_index(
        "ix_self_submission_hashes_signal_type_value",
        "self_submission_hashes",
        ["signal_type", "value"],
    )


def _holds() -> None:
    op.create_table(
        "upload_holds",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("organisation_id", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("content_ref", sa.String(1024), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("quality", sa.Integer, nullable=True),
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("match_type", sa.String(8), nullable=False),
        sa.Column("distance", sa.Integer, nullable=False),
        sa.Column("variant", sa.String(16), nullable=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="held"),
        sa.Column("held_at", TIME, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_upload_holds"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_upload_holds_organisation_id_organisations",
        ),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name="fk_upload_holds_bank_id_banks"),
        sa.CheckConstraint(
            "state IN ('held', 'confirmed', 'not_a_match')", name="ck_upload_holds_state"
        ),
        sa.CheckConstraint("match_type IN ('exact', 'near')", name="ck_upload_holds_match_type"),
    )
    op.create_index("ix_upload_holds_state_held_at", "upload_holds", ["state", "held_at"])
    op.create_index(
        "ix_upload_holds_organisation_id_sha256", "upload_holds", ["organisation_id", "sha256"]
    )


def _requests() -> None:
    op.create_table(
        "removal_requests",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("organisation_id", sa.Integer, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("submission_id", sa.Integer, nullable=True),
        sa.Column("hold_id", sa.Integer, nullable=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="open"),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("first_closed_at", TIME, nullable=True),
        sa.Column("ended_reason", sa.String(200), nullable=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("contact", sa.String(320), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("last_sweep_at", TIME, nullable=True),
        sa.Column("swept", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_removal_requests"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_removal_requests_organisation_id_organisations",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["self_submissions.id"],
            name="fk_removal_requests_submission_id_self_submissions",
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["upload_holds.id"], name="fk_removal_requests_hold_id_upload_holds"
        ),
        sa.CheckConstraint(
            "origin IN ('person', 'self-submission')", name="ck_removal_requests_origin"
        ),
        sa.CheckConstraint(
            "state IN ('open', 'closed', 'withdrawn')", name="ck_removal_requests_state"
        ),
    )
    op.create_index("ix_removal_requests_state_due_at", "removal_requests", ["state", "due_at"])
    op.create_index("ix_removal_requests_submission_id", "removal_requests", ["submission_id"])
    op.create_table(
        "removal_request_hashes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_removal_request_hashes"),
        sa.UniqueConstraint(
            "request_id",
            "signal_type",
            "value",
            name="uq_removal_request_hashes_request_id_signal_type_value",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["removal_requests.id"],
            name="fk_removal_request_hashes_request_id_removal_requests",
            ondelete="CASCADE",
        ),
    )


def _items() -> None:
    op.create_table(
        "removal_items",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("content_ref", sa.String(1024), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("source", sa.String(1024), nullable=False, server_default=""),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("signal_type", sa.String(16), nullable=True),
        sa.Column("match_type", sa.String(8), nullable=True),
        sa.Column("distance", sa.Integer, nullable=True),
        sa.Column("found_at", TIME, nullable=False),
        sa.Column("removed_at", TIME, nullable=True),
        sa.Column("removed_by", sa.String(200), nullable=True),
        sa.Column("removal_note", sa.Text, nullable=False, server_default=""),
        sa.Column("seen_again_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_removal_items"),
        sa.UniqueConstraint(
            "request_id", "content_ref", name="uq_removal_items_request_id_content_ref"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["removal_requests.id"],
            name="fk_removal_items_request_id_removal_requests",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("how IN ('named', 'upload', 'sweep')", name="ck_removal_items_how"),
    )


def upgrade() -> None:
    _submissions()
    _holds()
    _requests()
    _items()


def downgrade() -> None:
    for table in (
        "removal_items",
        "removal_request_hashes",
        "removal_requests",
        "upload_holds",
        "self_submission_hashes",
        "self_submissions",
    ):
        op.drop_table(table)
