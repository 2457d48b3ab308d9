"""Former links of feed records (owner: exchanges; see ``keepdown/storage/tables_exchanges.py``):
``feed_record_entries.live``. A link a record lets go of is kept with ``live`` false, so an
entry no record carries any more takes its provenance from its former carriers whatever the
order they let go of it in (a resumed fetch equals a full one).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "feed_record_entries",
        sa.Column("live", sa.Boolean, nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    with op.batch_alter_table("feed_record_entries") as batch:
        batch.drop_column("live")
