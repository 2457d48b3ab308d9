"""Providers' cadence in minutes, and what their refusals and removed pages mean.

``providers.recheck_hours``, ``renotice_hours`` and ``escalate_hours`` become
``recheck_minutes``, ``renotice_minutes`` and ``escalate_minutes`` (each existing value times
60): an hourly re-check measured removals up to an hour late (issue 24, item 5). New columns
``forbidden_means`` and ``unmatched_means`` (``confirm`` / ``removed``, and ``error`` for the
first) say per provider what a 401/403 and a "content removed" page mean; existing providers
keep ``confirm``, the rule they had.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_CADENCE = (("recheck", "1440", "24"), ("renotice", "1440", "24"), ("escalate", "4320", "72"))
_MEANINGS = ("forbidden_means", "unmatched_means")


def upgrade() -> None:
    for name, minutes, _hours in _CADENCE:
        op.add_column(
            "providers",
            sa.Column(f"{name}_minutes", sa.Integer, nullable=False, server_default=minutes),
        )
        op.execute(f"UPDATE providers SET {name}_minutes = {name}_hours * 60")
    for name in _MEANINGS:
        op.add_column(
            "providers",
            sa.Column(name, sa.String(8), nullable=False, server_default="confirm"),
        )
    with op.batch_alter_table("providers") as batch:
        for name, _minutes, _hours in _CADENCE:
            batch.drop_column(f"{name}_hours")


def downgrade() -> None:
    for name, _minutes, hours in _CADENCE:
        op.add_column(
            "providers",
            sa.Column(f"{name}_hours", sa.Integer, nullable=False, server_default=hours),
        )
        # Whole hours, rounded up, never below 1 (the hours column's own floor).
        op.execute(
            f"UPDATE providers SET {name}_hours = "
            f"CASE WHEN {name}_minutes < 60 THEN 1 ELSE ({name}_minutes + 59) / 60 END"
        )
    with op.batch_alter_table("providers") as batch:
        for name in _MEANINGS:
            batch.drop_column(name)
        for name, _minutes, _hours in _CADENCE:
            batch.drop_column(f"{name}_minutes")
