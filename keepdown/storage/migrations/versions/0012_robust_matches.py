"""Robust matches: banks opt in, sightings record the ``near (robust)`` kind (owner: robust).

A match found only through a robust query variant (a trimmed, un-cropped or turned-back copy
of the query, ``keepdown.hashing.robust``) is a distinct kind, ``near (robust)``: review only.

1. ``banks.robust``: the bank accepts such matches (off by default: opt in per bank);
2. ``sightings.match_type`` widens to 16 characters and its check accepts ``near (robust)``;
   ``sightings.variant`` widens to 40 characters (robust variant names such as
   ``uncrop-2.5-0-2.5-5``). SQLite rebuilds the table for the check (batch mode).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_OLD_CHECK = "match_type IS NULL OR match_type IN ('exact', 'near')"
_NEW_CHECK = "match_type IS NULL OR match_type IN ('exact', 'near', 'near (robust)')"


def upgrade() -> None:
    op.add_column(
        "banks", sa.Column("robust", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    with op.batch_alter_table("sightings") as batch:
        batch.drop_constraint("ck_sightings_match_type", type_="check")
        batch.alter_column(
            "match_type", existing_type=sa.String(8), type_=sa.String(16), existing_nullable=True
        )
        batch.alter_column(
            "variant", existing_type=sa.String(16), type_=sa.String(40), existing_nullable=True
        )
        batch.create_check_constraint("ck_sightings_match_type", _NEW_CHECK)


def downgrade() -> None:
    """Robust sightings become plain near ones (the kind is lost, the sighting is kept)."""
    op.execute("UPDATE sightings SET match_type = 'near' WHERE match_type = 'near (robust)'")
    op.execute("UPDATE sightings SET variant = substr(variant, 1, 16)")
    with op.batch_alter_table("sightings") as batch:
        batch.drop_constraint("ck_sightings_match_type", type_="check")
        batch.alter_column(
            "variant", existing_type=sa.String(40), type_=sa.String(16), existing_nullable=True
        )
        batch.alter_column(
            "match_type", existing_type=sa.String(16), type_=sa.String(8), existing_nullable=True
        )
        batch.create_check_constraint("ck_sightings_match_type", _OLD_CHECK)
    op.drop_column("banks", "robust")
