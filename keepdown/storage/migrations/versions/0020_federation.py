"""Federation between hotlines (owner: federation; see ``keepdown/storage/tables_federation.py``).

1. the ``peer`` role for API keys and people (SQLite rebuilds the tables for the check);
2. peers, publications of banks to peers, the federation outbox and inbox, referrals and
   their timelines.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_OLD_ROLES = "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator')"
_NEW_ROLES = "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator', 'peer')"


def _roles(check: str) -> None:
    for table in ("api_keys", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_role", type_="check")
            batch.create_check_constraint(op.f(f"ck_{table}_role"), check)


def upgrade() -> None:
    _roles(_NEW_ROLES)
    op.create_table(
        "peers",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("countries", JSON, nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("token_env", sa.String(128), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_peers"),
        sa.UniqueConstraint("name", name="uq_peers_name"),
    )
    op.create_table(
        "peer_publications",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("bank_id", sa.Integer, nullable=False),
        sa.Column("peer_id", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_peer_publications"),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], ondelete="CASCADE", name="fk_peer_publications_bank_id_banks"
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], ondelete="CASCADE", name="fk_peer_publications_peer_id_peers"
        ),
        sa.UniqueConstraint("bank_id", "peer_id", name="uq_peer_publications_bank_id_peer_id"),
    )
    op.create_table(
        "federation_outbox",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("peer_id", sa.Integer, nullable=False),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("dedupe", sa.String(300), nullable=False),
        sa.Column("envelope", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_federation_outbox"),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], ondelete="CASCADE", name="fk_federation_outbox_peer_id_peers"
        ),
        sa.UniqueConstraint("dedupe", name="uq_federation_outbox_dedupe"),
        sa.UniqueConstraint(
            "peer_id", "stream", "seq", name="uq_federation_outbox_peer_id_stream_seq"
        ),
        sa.CheckConstraint("stream IN ('referral', 'status')", name="ck_federation_outbox_stream"),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed')", name="ck_federation_outbox_state"
        ),
    )
    op.create_index(
        "ix_federation_outbox_state_next_attempt_at",
        "federation_outbox",
        ["state", "next_attempt_at"],
    )
    op.create_table(
        "federation_inbox",
        sa.Column("peer_id", sa.Integer, nullable=False),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("accepted_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("peer_id", "stream", "seq", name="pk_federation_inbox"),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], ondelete="CASCADE", name="fk_federation_inbox_peer_id_peers"
        ),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("peer_id", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("local_ref", sa.String(100), nullable=False, server_default=""),
        sa.Column("country", sa.String(2), nullable=False, server_default=""),
        sa.Column("body", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], ondelete="CASCADE", name="fk_referrals_peer_id_peers"
        ),
        sa.UniqueConstraint(
            "direction", "peer_id", "reference", name="uq_referrals_direction_peer_id_reference"
        ),
        sa.CheckConstraint("direction IN ('out', 'in')", name="ck_referrals_direction"),
    )
    op.create_table(
        "referral_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("referral_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referral_events"),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            ondelete="CASCADE",
            name="fk_referral_events_referral_id_referrals",
        ),
        sa.UniqueConstraint("referral_id", "status", name="uq_referral_events_referral_id_status"),
    )


def downgrade() -> None:
    for table in (
        "referral_events",
        "referrals",
        "federation_inbox",
        "federation_outbox",
        "peer_publications",
        "peers",
    ):
        op.drop_table(table)
    op.execute("DELETE FROM api_keys WHERE role = 'peer'")
    op.execute("DELETE FROM users WHERE role = 'peer'")
    _roles(_OLD_ROLES)
