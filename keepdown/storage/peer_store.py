"""Peers, publications and what a publisher reads of a bank for a peer, on SQL.

Implements :class:`keepdown.federation.peers.PeerStore` and
:class:`keepdown.federation.pages.ChangeReader`: entries by id (the primary key's range) and
tombstones by (removed at, id) (the partial index on ``removed_at``), each page one index
range read however large the bank.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import Conflict, NotFound
from keepdown.federation.pages import EntryRow
from keepdown.federation.peers import Peer, PeerSpec, Publication
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_banks import bank_entries, banks
from keepdown.storage.tables_federation import peer_publications, peers

__all__ = ["SqlPeerStore"]

_E = bank_entries.c
#: The columns of an :data:`~keepdown.federation.pages.EntryRow`, in its order.
_ROW = (
    _E.id,
    _E.signal_type,
    _E.value,
    _E.added_at,
    _E.removed_at,
    _E.category,
    _E.maturity,
    _E.source_label,
)


def _peer(row: Any) -> Peer:
    return Peer(
        id=row["id"],
        name=row["name"],
        countries=tuple(row["countries"] or ()),
        url=row["url"],
        public_key=base64.b64decode(row["public_key"]),
        token_env=row["token_env"],
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlPeerStore:
    """Peers and publications (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- peers ---------------------------------------------------------------------------

    def add_peer(self, spec: PeerSpec, now: datetime) -> Peer:
        spec = spec.checked()
        values = {
            "name": spec.name,
            "countries": list(spec.countries),
            "url": spec.url,
            "public_key": base64.b64encode(spec.public_key).decode("ascii"),
            "token_env": spec.token_env,
            "enabled": spec.enabled,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with storage_errors("adding a peer"), self.engine.begin() as conn:
                conn.execute(insert(peers).values(**values))
        except IntegrityError:
            raise Conflict(f"a peer called {spec.name!r} exists", peer=spec.name) from None
        return self.get_peer(spec.name)

    def get_peer(self, name: str) -> Peer:
        with storage_errors("reading a peer"), self.engine.connect() as conn:
            row = conn.execute(select(peers).where(peers.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no peer called {name!r}", peer=name)
        return _peer(row)

    def find_peer(self, name: str) -> Peer | None:
        try:
            return self.get_peer(name)
        except NotFound:
            return None

    def list_peers(self) -> list[Peer]:
        with storage_errors("listing peers"), self.engine.connect() as conn:
            rows = conn.execute(select(peers).order_by(peers.c.name)).mappings().all()
        return [_peer(r) for r in rows]

    def set_enabled(self, name: str, enabled: bool, now: datetime) -> Peer:
        with storage_errors("changing a peer"), self.engine.begin() as conn:
            done = conn.execute(
                update(peers).where(peers.c.name == name).values(enabled=enabled, updated_at=now)
            )
        if not done.rowcount:
            raise NotFound(f"no peer called {name!r}", peer=name)
        return self.get_peer(name)

    # --- publications --------------------------------------------------------------------

    def publish(
        self, bank: str, peer: str, *, by: str, now: datetime, enabled: bool
    ) -> Publication:
        p, b = peer_publications.c, banks.c
        with storage_errors("publishing a bank"), self.engine.begin() as conn:
            bank_id = conn.execute(select(b.id).where(b.name == bank)).scalar()
            peer_id = conn.execute(select(peers.c.id).where(peers.c.name == peer)).scalar()
            if bank_id is None:
                raise NotFound(f"no bank called {bank!r}", bank=bank)
            if peer_id is None:
                raise NotFound(f"no peer called {peer!r}", peer=peer)
            values = {"enabled": enabled, "changed_by": by, "changed_at": now}
            done = conn.execute(
                update(peer_publications)
                .where(p.bank_id == bank_id, p.peer_id == peer_id)
                .values(**values)
            )
            if not done.rowcount:
                conn.execute(
                    insert(peer_publications).values(bank_id=bank_id, peer_id=peer_id, **values)
                )
        return Publication(bank, peer, enabled, by, now)

    def publications(self, *, peer: str | None = None) -> list[Publication]:
        p = peer_publications.c
        query = (
            select(banks.c.name, peers.c.name.label("peer"), p.enabled, p.changed_by, p.changed_at)
            .join(banks, banks.c.id == p.bank_id)
            .join(peers, peers.c.id == p.peer_id)
            .order_by(banks.c.name, peers.c.name)
        )
        if peer is not None:
            query = query.where(peers.c.name == peer)
        with storage_errors("listing publications"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Publication(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def published(self, bank: str, peer: str) -> bool:
        p = peer_publications.c
        query = (
            select(p.id)
            .join(banks, banks.c.id == p.bank_id)
            .join(peers, peers.c.id == p.peer_id)
            .where(banks.c.name == bank, peers.c.name == peer, p.enabled, peers.c.enabled)
        )
        with storage_errors("reading a publication"), self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    # --- what a publisher reads (ChangeReader) -------------------------------------------

    def entries_after(self, bank_id: int, after_id: int, limit: int) -> list[EntryRow]:
        c = bank_entries.c
        query = (
            select(*_ROW).where(c.bank_id == bank_id, c.id > after_id).order_by(c.id).limit(limit)
        )
        with storage_errors("reading entries for a peer"), self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]

    def tombstones_after(
        self, bank_id: int, after: datetime, after_id: int, limit: int
    ) -> list[EntryRow]:
        c = bank_entries.c
        query = (
            select(*_ROW)
            .where(
                c.removed_at.is_not(None),
                c.bank_id == bank_id,
                or_(c.removed_at > after, and_(c.removed_at == after, c.id > after_id)),
            )
            .order_by(c.removed_at, c.id)
            .limit(limit)
        )
        with storage_errors("reading tombstones for a peer"), self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]
