"""A copy found for a removal request can be dismissed as not the same picture (owner:
submissions): ``removal_items.dismissed_at`` and ``dismissed_by``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("removal_items") as batch:
        batch.add_column(sa.Column("dismissed_at", TIME, nullable=True))
        batch.add_column(sa.Column("dismissed_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("removal_items") as batch:
        batch.drop_column("dismissed_by")
        batch.drop_column("dismissed_at")
