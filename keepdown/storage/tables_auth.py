"""Auth tables beyond keys and the audit log: bank shares (migration 0002).

A bank is read by its owner organisation, the operator organisation and every organisation it
is shared with here (see :mod:`keepdown.auth.scope`). ``api_keys`` and ``audit_log`` live in
:mod:`keepdown.storage.schema`.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, UniqueConstraint

from keepdown.storage.schema import UtcDateTime, metadata

__all__ = ["bank_shares"]

bank_shares = Table(
    "bank_shares",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bank_id", Integer, ForeignKey("banks.id", ondelete="CASCADE"), nullable=False),
    Column(
        "organisation_id",
        Integer,
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("bank_id", "organisation_id"),
    Index(None, "organisation_id"),
)
