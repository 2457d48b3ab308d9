"""Bank entry values of any length, unique by a short key; an index on tombstones (owner: core).

``bank_entries.value`` was VARCHAR(128): a vPDQ signal (every frame of a video) is far longer,
and PostgreSQL refused it. The value becomes TEXT and uniqueness moves to ``value_key`` (the
value itself up to 128 characters, else ``sha256:`` + its digest; ``schema.entry_key``), so
no index ever holds a long value. A partial index on ``removed_at`` (tombstones only) lets
the match index read the removed entries without scanning the table.

Steps (SQLite rebuilds the table once, in step 3; ``migrate.upgrade`` turns its foreign keys
off around the migration so the rebuild does not touch the sightings that point at entries):

1. add ``value_key``, empty;
2. fill it: the value where it fits (every existing PostgreSQL row), the digest otherwise;
3. make it NOT NULL, swap the unique constraint to it, widen ``value`` to TEXT;
4. create the partial index on ``removed_at``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEY = sa.String(128)  # frozen copy of schema.VALUE_KEY_MAX at this revision
_TOMBSTONES = "removed_at IS NOT NULL"


def _digest(value: str) -> str:
    """schema.entry_key for a value over 128 characters, frozen at this revision."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _fill_keys() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE bank_entries SET value_key = value WHERE length(value) <= 128"))
    long_rows = bind.execute(
        sa.text("SELECT id, value FROM bank_entries WHERE value_key IS NULL")
    ).all()
    if long_rows:  # only SQLite, which never enforced the old VARCHAR(128), can have any
        bind.execute(
            sa.text("UPDATE bank_entries SET value_key = :key WHERE id = :id"),
            [{"id": row_id, "key": _digest(value)} for row_id, value in long_rows],
        )


def upgrade() -> None:
    op.add_column("bank_entries", sa.Column("value_key", KEY, nullable=True))
    _fill_keys()
    with op.batch_alter_table("bank_entries") as batch:
        batch.drop_constraint("uq_bank_entries_bank_id_signal_type_value", type_="unique")
        batch.alter_column("value_key", existing_type=KEY, nullable=False)
        batch.alter_column(
            "value", existing_type=sa.String(128), type_=sa.Text(), existing_nullable=False
        )
        batch.create_unique_constraint(
            "uq_bank_entries_bank_id_signal_type_value_key", ["bank_id", "signal_type", "value_key"]
        )
    op.create_index(
        "ix_bank_entries_removed_at",
        "bank_entries",
        ["removed_at"],
        sqlite_where=sa.text(_TOMBSTONES),
        postgresql_where=sa.text(_TOMBSTONES),
    )


def downgrade() -> None:
    """Back to VARCHAR(128) values: fails on PostgreSQL while a longer value (vPDQ) is stored."""
    op.drop_index("ix_bank_entries_removed_at", table_name="bank_entries")
    with op.batch_alter_table("bank_entries") as batch:
        batch.drop_constraint("uq_bank_entries_bank_id_signal_type_value_key", type_="unique")
        batch.alter_column(
            "value", existing_type=sa.Text(), type_=sa.String(128), existing_nullable=False
        )
        batch.create_unique_constraint(
            "uq_bank_entries_bank_id_signal_type_value", ["bank_id", "signal_type", "value"]
        )
        batch.drop_column("value_key")
