"""Removal checks: what each re-check saw, confirmations, reopened and seen-again locations.

``notice_locations`` gains ``last_present_at`` (the last check that still found it: the
precision of a removal's time), ``gone_since`` (the first of a run of gone answers waiting for
a confirming check), ``reopened_at`` (an analyst reopened it after an upheld dispute) and
``last_seen_at`` (the last sighting the crawler linked to it), and an index on
``(provider_id, url_key)`` for "is this place open at this provider?". ``notice_checks`` gains
``answer`` and ``confirming`` (keepdown/notices/checks.py). Existing rows keep NULL / "" /
false: nothing was confirming, and earlier checks did not say their answer.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)  # frozen copy of the column type at this revision
_LOCATION_TIMES = ("last_present_at", "gone_since", "reopened_at", "last_seen_at")


def upgrade() -> None:
    for name in _LOCATION_TIMES:
        op.add_column("notice_locations", sa.Column(name, TIME, nullable=True))
    op.create_index(
        "ix_notice_locations_provider_id_url_key", "notice_locations", ["provider_id", "url_key"]
    )
    op.add_column(
        "notice_checks", sa.Column("answer", sa.String(16), nullable=False, server_default="")
    )
    op.add_column(
        "notice_checks",
        sa.Column("confirming", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("notice_checks") as batch:
        batch.drop_column("confirming")
        batch.drop_column("answer")
    op.drop_index("ix_notice_locations_provider_id_url_key", table_name="notice_locations")
    with op.batch_alter_table("notice_locations") as batch:
        for name in reversed(_LOCATION_TIMES):
            batch.drop_column(name)
