"""The ``licensee`` role of API keys and users: ISPs, resolvers, filters and vendors that
fetch the URL block list (owner: blocklist; see ``keepdown/storage/tables_access.py``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_OLD = "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator', 'peer')"
_NEW = "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator', 'peer', 'licensee')"


# Migration 0020 named these constraints literally (op.f): keep the names as they are.


def upgrade() -> None:
    for table in ("api_keys", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_role"), type_="check")
            batch.create_check_constraint(op.f(f"ck_{table}_role"), _NEW)


def downgrade() -> None:
    """Licensee keys and users are removed (they cannot exist under the old rule)."""
    op.execute("DELETE FROM api_keys WHERE role = 'licensee'")
    op.execute("DELETE FROM users WHERE role = 'licensee'")
    for table in ("api_keys", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_role"), type_="check")
            batch.create_check_constraint(op.f(f"ck_{table}_role"), _OLD)
