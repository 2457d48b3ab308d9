"""The URL block list (owner: blocklist; see ``keepdown/storage/tables_blocklist.py``):
serials, entries, changes, listed domains, appeals.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blocklist_serials",
        sa.Column("serial", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("removed", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("serial", name="pk_blocklist_serials"),
    )
    op.create_table(
        "blocklist_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("target_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("classification", sa.String(64), nullable=False, server_default=""),
        sa.Column("provider", sa.String(200), nullable=False, server_default=""),
        sa.Column("first_confirmed_at", TIME, nullable=False),
        sa.Column("last_confirmed_at", TIME, nullable=True),
        sa.Column("added_serial", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_blocklist_entries"),
        sa.UniqueConstraint("target_key", name="uq_blocklist_entries_target_key"),
    )
    op.create_table(
        "blocklist_changes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("serial", sa.Integer, nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("classification", sa.String(64), nullable=False, server_default=""),
        sa.Column("provider", sa.String(200), nullable=False, server_default=""),
        sa.Column("first_confirmed_at", TIME, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("why", sa.String(32), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_blocklist_changes"),
    )
    op.create_index("ix_blocklist_changes_serial", "blocklist_changes", ["serial"])
    op.create_table(
        "blocklist_domains",
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("classification", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("domain", name="pk_blocklist_domains"),
    )
    op.create_table(
        "blocklist_appeals",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("contact", sa.Text, nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_blocklist_appeals"),
    )
    op.create_index("ix_blocklist_appeals_state", "blocklist_appeals", ["state"])


def downgrade() -> None:
    op.drop_index("ix_blocklist_appeals_state", table_name="blocklist_appeals")
    op.drop_table("blocklist_appeals")
    op.drop_table("blocklist_domains")
    op.drop_index("ix_blocklist_changes_serial", table_name="blocklist_changes")
    op.drop_table("blocklist_changes")
    op.drop_table("blocklist_entries")
    op.drop_table("blocklist_serials")
