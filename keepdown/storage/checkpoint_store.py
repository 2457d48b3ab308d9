"""Signed checkpoints of the event chain, stored (``event_checkpoints``, migration 0016).

Implements :class:`keepdown.evidence.log.CheckpointStore`. One checkpoint per position: two
workers recording the same head at once store it once (``ON CONFLICT DO NOTHING`` on the
unique position).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Row, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keepdown.evidence.checkpoints import Checkpoint, SignedCheckpoint
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_events import event_checkpoints

__all__ = ["SqlCheckpointStore"]


class SqlCheckpointStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, signed: SignedCheckpoint) -> bool:
        cp = signed.checkpoint
        values = {
            "position": cp.position,
            "head": cp.head,
            "at": cp.at,
            "operator": cp.operator,
            "signature": signed.signature,
            "public_key": signed.public_key,
        }
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(event_checkpoints)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(event_checkpoints.c.id)
        )
        with storage_errors("recording a checkpoint"), self.engine.begin() as conn:
            return conn.execute(statement).first() is not None

    def latest(self) -> SignedCheckpoint | None:
        query = select(event_checkpoints).order_by(event_checkpoints.c.position.desc()).limit(1)
        with storage_errors("reading checkpoints"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _signed(row) if row is not None else None

    def list(self, *, after: int = 0, limit: int = 100) -> list[SignedCheckpoint]:
        c = event_checkpoints.c
        query = select(event_checkpoints).where(c.position > after).order_by(c.position)
        with storage_errors("reading checkpoints"), self.engine.connect() as conn:
            return [_signed(row) for row in conn.execute(query.limit(limit))]


def _signed(row: Row[Any]) -> SignedCheckpoint:
    checkpoint = Checkpoint(
        position=int(row.position), head=bytes(row.head), at=row.at, operator=row.operator
    )
    return SignedCheckpoint(checkpoint, bytes(row.signature), bytes(row.public_key))
