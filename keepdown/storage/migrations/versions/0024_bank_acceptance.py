"""A bank of another organisation takes part in pooled matching only once accepted (issue 16).

``banks.accepted_at`` / ``banks.accepted_by``: when and by whom an operator admin accepted the
bank into pooled matching (``keepdown.banks.model.Bank.pooled``). Existing banks are not
accepted: the operator organisation's own banks take part by ownership, every other
organisation's bank waits for an operator admin (``keepdown bank accept NAME``, ``PATCH
/api/v1/banks/NAME {"accepted": true}``; docs/banks.md, "Who decides what is acted on").

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("accepted_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("accepted_by")
        batch.drop_column("accepted_at")
