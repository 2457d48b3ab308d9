"""People: users with passwords and second factors, web sessions, review decisions (owner: web).

Also the review queue's claims, the allow-list of candidates that are not a match, and each
analyst's wellbeing settings (see ``keepdown/storage/tables_access.py and tables_review.py``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("organisation_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("senior", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("password_changed_at", TIME, nullable=False),
        sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
        sa.Column("language", sa.String(8), nullable=False, server_default=""),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TIME, nullable=True),
        sa.Column("disabled_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_login_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name="fk_users_organisation_id_organisations"
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator')",
            name="ck_users_role",
        ),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("pending_totp", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("review_since", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("token_sha256", name="uq_web_sessions_token_sha256"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_web_sessions_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def _review() -> None:
    op.create_table(
        "review_items",
        sa.Column("sighting_id", BIG_ID, nullable=False, autoincrement=False),
        sa.Column("queue", sa.String(8), nullable=False, server_default="main"),
        sa.Column("enqueued_at", TIME, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("claim_expires", TIME, nullable=True),
        sa.Column("revealed_at", TIME, nullable=True),
        sa.Column("escalated_by", sa.String(64), nullable=True),
        sa.Column("escalated_at", TIME, nullable=True),
        sa.Column("escalation_note", sa.Text, nullable=False, server_default=""),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("sighting_id", name="pk_review_items"),
        sa.ForeignKeyConstraint(
            ["sighting_id"],
            ["sightings.id"],
            name="fk_review_items_sighting_id_sightings",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("queue IN ('main', 'senior')", name="ck_review_items_queue"),
    )
    op.create_index("ix_review_items_queue_decided_at", "review_items", ["queue", "decided_at"])
    op.create_table(
        "review_decisions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("sighting_id", BIG_ID, nullable=False),
        sa.Column("analyst", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("allow_listed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("revealed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_decisions"),
        sa.ForeignKeyConstraint(
            ["sighting_id"],
            ["sightings.id"],
            name="fk_review_decisions_sighting_id_sightings",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "decision IN ('confirm', 'not_a_match', 'escalate', 'skip')",
            name="ck_review_decisions_decision",
        ),
    )
    op.create_index("ix_review_decisions_sighting_id", "review_decisions", ["sighting_id"])
    op.create_index("ix_review_decisions_analyst_at", "review_decisions", ["analyst", "at"])


def _allow_list_and_prefs() -> None:
    op.create_table(
        "allow_list",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("bank", sa.String(200), nullable=True),
        sa.Column("entry_id", BIG_ID, nullable=True),
        sa.Column("sighting_id", BIG_ID, nullable=True),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("id", name="pk_allow_list"),
    )
    op.create_index("ix_allow_list_sha256", "allow_list", ["sha256"])
    op.create_table(
        "review_prefs",
        sa.Column("analyst", sa.String(64), nullable=False),
        sa.Column("blur", sa.Integer, nullable=False),
        sa.Column("grayscale", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("break_after_reviews", sa.Integer, nullable=False),
        sa.Column("break_after_minutes", sa.Integer, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("analyst", name="pk_review_prefs"),
    )


def upgrade() -> None:
    _users()
    _review()
    _allow_list_and_prefs()


def downgrade() -> None:
    for table in (
        "review_prefs",
        "allow_list",
        "review_decisions",
        "review_items",
        "web_sessions",
        "users",
    ):
        op.drop_table(table)
