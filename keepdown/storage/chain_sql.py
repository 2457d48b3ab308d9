"""The event chain's SQL function on SQLite: ``keepdown_chain_link``.

SQLite has no SHA-256 of its own, so the chain trigger of migration 0016 calls this Python
function, which every keepdown connection registers (engine.py). It computes the same hash
as the PostgreSQL trigger and :func:`keepdown.evidence.chain.event_hash`, over the time in
the chain's form (SQLite keeps ``2026-07-01 12:00:00.000000``; the chain hashes
``2026-07-01T12:00:00.000000Z``).
"""

from __future__ import annotations

from typing import Any

from keepdown.evidence.chain import event_hash

__all__ = ["register_functions", "sqlite_at", "sqlite_chain_link"]


def sqlite_at(stored: str) -> str:
    """An event time as SQLite stores it, in the chain's form."""
    return stored.replace(" ", "T", 1) + "Z"


def sqlite_chain_link(previous: bytes, position: int, kind: str, at: str, payload: str) -> bytes:
    """``keepdown_chain_link(previous, id, kind, at, payload)``, as the trigger calls it."""
    return event_hash(bytes(previous), int(position), kind, sqlite_at(at), payload)


def register_functions(dbapi_connection: Any) -> None:
    """Install the chain's function on a new SQLite connection."""
    dbapi_connection.create_function(
        "keepdown_chain_link", 5, sqlite_chain_link, deterministic=True
    )
