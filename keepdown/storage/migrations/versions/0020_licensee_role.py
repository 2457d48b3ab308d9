"""The ``licensee`` role of API keys and users: ISPs, resolvers, filters and vendors that
fetch the URL block list (owner: blocklist; see ``keepdown/storage/tables_access.py``).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_OLD = "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator')"
_NEW = "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator', 'licensee')"


def upgrade() -> None:
    for table in ("api_keys", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_role", type_="check")
            batch.create_check_constraint(f"ck_{table}_role", _NEW)


def downgrade() -> None:
    """Licensee keys and users are removed (they cannot exist under the old rule)."""
    op.execute("DELETE FROM api_keys WHERE role = 'licensee'")
    op.execute("DELETE FROM users WHERE role = 'licensee'")
    for table in ("api_keys", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_role", type_="check")
            batch.create_check_constraint(f"ck_{table}_role", _OLD)
