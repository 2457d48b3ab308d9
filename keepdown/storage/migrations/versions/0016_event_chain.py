"""The event chain: every event hashed with the one before it; signed checkpoints (owner: evidence).

Issue 23 (docs/transparency.md, "The event chain"). Each event's ``chain_hash`` is
``SHA-256(0x01 || previous hash || SHA-256(0x00 || "id\\nkind\\nat\\npayload"))``, in id order,
starting from the genesis ``SHA-256("keepdown-event-chain-v1")``; ``at`` is UTC text with
microseconds and a ``Z``, ``payload`` the stored JSON text.

Steps:

1. PostgreSQL: ``events.payload`` becomes ``json`` (kept verbatim) instead of ``jsonb``
   (re-rendered), so the stored text is what is hashed. Existing rows keep jsonb's rendering.
2. ``events.chain_hash`` is added; ``event_chain`` and ``event_checkpoints`` are created.
3. Every existing event is chained, in id order, over its text as stored now (this cannot
   vouch for what happened to the events before today: ``event_chain.backfilled`` says how
   many there were, ``started_at`` when, ``live_from`` the first position written live).
4. Triggers: from now on the database chains every insert itself, in the inserting
   transaction (SQLite: after the insert, through the ``keepdown_chain_link`` function every
   keepdown connection registers, engine.py; PostgreSQL: before the insert, under a lock on
   ``event_chain`` so concurrent writers take one order, with the id set to the next
   position). Updates and deletes of chained events are refused (a guard against mistakes;
   the chain is what catches someone who drops the guard).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Frozen at this revision (never import keepdown.evidence here).
GENESIS = hashlib.sha256(b"keepdown-event-chain-v1").digest()
HASH = sa.LargeBinary(32)
TIME = sa.DateTime(timezone=True)
BATCH = 10_000
_PG_AT = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _link(previous: bytes, position: int, kind: str, at: str, payload: str) -> bytes:
    leaf = hashlib.sha256(b"\x00" + f"{position}\n{kind}\n{at}\n{payload}".encode()).digest()
    return hashlib.sha256(b"\x01" + previous + leaf).digest()


def _rows(bind: sa.Connection, after: int) -> list[tuple[int, str, str, str]]:
    if bind.dialect.name == "postgresql":
        query = f"SELECT id, kind, {_PG_AT}, payload::text FROM events"
    else:
        query = "SELECT id, kind, replace(at, ' ', 'T') || 'Z', payload FROM events"
    found = bind.execute(
        sa.text(f"{query} WHERE id > :after ORDER BY id LIMIT {BATCH}"), {"after": after}
    ).all()
    return [(int(r[0]), r[1], r[2], r[3]) for r in found]


def _backfill(bind: sa.Connection) -> tuple[int, int]:
    """Chain every existing event; (how many, the last id)."""
    previous, last, count = GENESIS, 0, 0
    while rows := _rows(bind, last):
        updates = []
        for position, kind, at, payload in rows:
            previous = _link(previous, position, kind, at, payload)
            updates.append({"h": previous, "i": position})
        bind.execute(sa.text("UPDATE events SET chain_hash = :h WHERE id = :i"), updates)
        last, count = rows[-1][0], count + len(rows)
    return count, last


_SQLITE_TRIGGERS = (
    """CREATE TRIGGER events_chain AFTER INSERT ON events
    BEGIN
        UPDATE events SET chain_hash = keepdown_chain_link(
            coalesce(
                (SELECT chain_hash FROM events WHERE id < NEW.id ORDER BY id DESC LIMIT 1),
                (SELECT genesis FROM event_chain WHERE id = 1)),
            NEW.id, NEW.kind, NEW.at, NEW.payload)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    WHEN OLD.chain_hash IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
    """CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
)

_PG_FUNCTIONS = (
    r"""CREATE FUNCTION keepdown_event_chain() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    DECLARE
        previous_id bigint;
        previous_hash bytea;
    BEGIN
        LOCK TABLE event_chain IN SHARE ROW EXCLUSIVE MODE;
        SELECT id, chain_hash INTO previous_id, previous_hash
            FROM events ORDER BY id DESC LIMIT 1;
        IF previous_id IS NULL THEN
            SELECT genesis INTO previous_hash FROM event_chain WHERE id = 1;
            previous_id := 0;
        END IF;
        NEW.id := previous_id + 1;
        NEW.chain_hash := sha256('\x01'::bytea || previous_hash || sha256('\x00'::bytea
            || convert_to(NEW.id::text || E'\n' || NEW.kind || E'\n'
                || to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                || E'\n' || NEW.payload::text, 'UTF8')));
        RETURN NEW;
    END $$""",
    """CREATE FUNCTION keepdown_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = 'the event log is append-only (' || TG_OP || ' refused)';
    END $$""",
    """CREATE TRIGGER events_chain BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION keepdown_event_chain()""",
    """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION keepdown_events_append_only()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION keepdown_events_append_only()""",
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.alter_column(
            "events",
            "payload",
            type_=sa.JSON(),
            existing_type=JSONB(),
            existing_nullable=False,
            postgresql_using="payload::text::json",
        )
    op.add_column("events", sa.Column("chain_hash", HASH, nullable=True))
    op.create_table(
        "event_chain",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("genesis", HASH, nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("live_from", sa.BigInteger, nullable=False),
        sa.Column("backfilled", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_chain"),
        sa.CheckConstraint("id = 1", name="ck_event_chain_one_row"),
    )
    op.create_table(
        "event_checkpoints",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("head", HASH, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("operator", sa.String(200), nullable=False, server_default=""),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_checkpoints"),
        sa.UniqueConstraint("position", name="uq_event_checkpoints_position"),
    )
    count, last = _backfill(bind)
    chain = sa.table(
        "event_chain",
        sa.column("id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("genesis", HASH),
        sa.column("started_at", TIME),
        sa.column("live_from", sa.BigInteger),
        sa.column("backfilled", sa.BigInteger),
    )
    op.bulk_insert(
        chain,
        [
            {
                "id": 1,
                "version": 1,
                "genesis": GENESIS,
                "started_at": datetime.now(UTC),
                "live_from": last + 1,
                "backfilled": count,
            }
        ],
    )
    for statement in _PG_FUNCTIONS if postgres else _SQLITE_TRIGGERS:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    """Back to unchained events (the hashes and checkpoints are dropped)."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in (
            "DROP TRIGGER events_no_truncate ON events",
            "DROP TRIGGER events_append_only ON events",
            "DROP TRIGGER events_chain ON events",
            "DROP FUNCTION keepdown_events_append_only()",
            "DROP FUNCTION keepdown_event_chain()",
        ):
            bind.exec_driver_sql(statement)
    else:
        for name in ("events_chain", "events_append_only_update", "events_append_only_delete"):
            bind.exec_driver_sql(f"DROP TRIGGER {name}")
    op.drop_table("event_checkpoints")
    op.drop_table("event_chain")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("chain_hash")
    if bind.dialect.name == "postgresql":
        op.alter_column(
            "events",
            "payload",
            type_=JSONB(),
            existing_type=sa.JSON(),
            existing_nullable=False,
            postgresql_using="payload::jsonb",
        )
