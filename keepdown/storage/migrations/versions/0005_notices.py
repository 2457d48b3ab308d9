"""Notices: notices, their locations, the delivery outbox, re-checks (owner: notices).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def _notices() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("provider_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("reappearance", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("first_sent_at", TIME, nullable=True),
        sa.Column("last_sent_at", TIME, nullable=True),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("escalated_at", TIME, nullable=True),
        sa.Column("closed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("reference", name="uq_notices_reference"),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name="fk_notices_provider_id_providers"
        ),
    )
    op.create_index("ix_notices_provider_id_state", "notices", ["provider_id", "state"])
    op.create_index("ix_notices_state", "notices", ["state"])


def _locations() -> None:
    op.create_table(
        "notice_locations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("notice_id", sa.Integer, nullable=False),
        sa.Column("provider_id", sa.Integer, nullable=False),
        sa.Column("sighting_id", BIG_ID, nullable=True),
        sa.Column("media_url", sa.Text, nullable=False),
        sa.Column("archive_member", sa.Text, nullable=False, server_default=""),
        sa.Column("page_url", sa.Text, nullable=False),
        sa.Column("url_key", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False, server_default=""),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("bank", sa.String(200), nullable=True),
        sa.Column("entry_id", sa.BigInteger, nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("detection", sa.String(16), nullable=False, server_default="crawl"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detected_at", TIME, nullable=False),
        sa.Column("first_notice_at", TIME, nullable=True),
        sa.Column("last_notice_at", TIME, nullable=True),
        sa.Column("notices_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("removal_reported_at", TIME, nullable=True),
        sa.Column("escalated_at", TIME, nullable=True),
        sa.Column("disputed_at", TIME, nullable=True),
        sa.Column("dispute_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("reviewed_at", TIME, nullable=True),
        sa.Column("review_outcome", sa.String(16), nullable=True),
        sa.Column("removed_at", TIME, nullable=True),
        sa.Column("last_check_at", TIME, nullable=True),
        sa.Column("last_check_result", sa.String(8), nullable=True),
        sa.Column("next_check_at", TIME, nullable=True),
        sa.Column("checks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("errors_in_row", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reappearance_of", BIG_ID, nullable=True),
        sa.Column("reappearance_where", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice_locations"),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name="fk_notice_locations_notice_id_notices",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name="fk_notice_locations_provider_id_providers"
        ),
        sa.ForeignKeyConstraint(
            ["sighting_id"],
            ["sightings.id"],
            name="fk_notice_locations_sighting_id_sightings",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reappearance_of"],
            ["notice_locations.id"],
            name="fk_notice_locations_reappearance_of_notice_locations",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "state IN ('drafted', 'notified', 'acknowledged', 'renoticed', 'escalated', "
            "'disputed', 'removed', 'withdrawn')",
            name="ck_notice_locations_state",
        ),
        sa.CheckConstraint(
            "reappearance_where IS NULL OR reappearance_where IN "
            "('same_url', 'same_provider', 'other')",
            name="ck_notice_locations_reappearance_where",
        ),
    )
    op.create_index("ix_notice_locations_notice_id", "notice_locations", ["notice_id"])
    op.create_index(
        "ix_notice_locations_state_next_check_at", "notice_locations", ["state", "next_check_at"]
    )
    op.create_index("ix_notice_locations_url_key", "notice_locations", ["url_key"])
    op.create_index("ix_notice_locations_sha256", "notice_locations", ["sha256"])
    op.create_table(
        "notice_sightings",
        sa.Column("sighting_id", BIG_ID, nullable=False),
        sa.Column("location_id", BIG_ID, nullable=False),
        sa.Column("linked_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("sighting_id", name="pk_notice_sightings"),
        sa.ForeignKeyConstraint(
            ["sighting_id"],
            ["sightings.id"],
            name="fk_notice_sightings_sighting_id_sightings",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["notice_locations.id"],
            name="fk_notice_sightings_location_id_notice_locations",
            ondelete="CASCADE",
        ),
    )


def _deliveries_and_checks() -> None:
    op.create_table(
        "notice_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("notice_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipients", JSON_DOC, nullable=False),
        sa.Column("location_ids", JSON_DOC, nullable=False),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("handover_at", TIME, nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice_deliveries"),
        sa.UniqueConstraint("message_key", name="uq_notice_deliveries_message_key"),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name="fk_notice_deliveries_notice_id_notices",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "kind IN ('notice', 'renotice', 'escalation')", name="ck_notice_deliveries_kind"
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook', 'manual')", name="ck_notice_deliveries_channel"
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'manual', 'cancelled')",
            name="ck_notice_deliveries_state",
        ),
    )
    op.create_index(
        "ix_notice_deliveries_state_next_attempt_at",
        "notice_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index("ix_notice_deliveries_notice_id", "notice_deliveries", ["notice_id"])
    op.create_table(
        "notice_checks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("location_id", BIG_ID, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_notice_checks"),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["notice_locations.id"],
            name="fk_notice_checks_location_id_notice_locations",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "result IN ('present', 'gone', 'error')", name="ck_notice_checks_result"
        ),
    )
    op.create_index("ix_notice_checks_location_id_at", "notice_checks", ["location_id", "at"])


def upgrade() -> None:
    _notices()
    _locations()
    _deliveries_and_checks()


def downgrade() -> None:
    op.drop_table("notice_checks")
    op.drop_table("notice_deliveries")
    op.drop_table("notice_sightings")
    op.drop_table("notice_locations")
    op.drop_table("notices")
