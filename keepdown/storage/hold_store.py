"""Held uploads on SQL: implements :class:`keepdown.submissions.holds.HoldStore`.

One hold per organisation, file (SHA-256) and bank: checking the same upload again finds the
first hold, decided or not. A decision is a conditional update (only a held upload can be
decided), so two analysts deciding at once cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from keepdown.errors import Conflict, NotFound
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_access import organisations
from keepdown.storage.tables_banks import bank_entries, banks
from keepdown.storage.tables_submissions import removal_requests, upload_holds
from keepdown.submissions.holds import Hold, HoldMatch, HoldState, UploadHashes
from keepdown.submissions.model import HashKey

__all__ = ["SqlHoldStore"]

_h = upload_holds
_QUERY = (
    select(_h, organisations.c.name.label("organisation"), banks.c.name.label("bank"))
    .join(organisations, organisations.c.id == _h.c.organisation_id)
    .join(banks, banks.c.id == _h.c.bank_id)
)


def _hold(row: Row[Any]) -> Hold:
    return Hold(
        id=row.id,
        organisation=row.organisation,
        key_id=row.key_id,
        content_ref=row.content_ref,
        hashes=UploadHashes(row.md5, row.sha256, row.pdq, row.quality),
        match=HoldMatch(
            bank=row.bank,
            entry_id=row.entry_id,
            signal_type=row.signal_type,
            match_type=row.match_type,
            distance=row.distance,
            variant=row.variant,
        ),
        state=HoldState(row.state),
        held_at=row.held_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
    )


class SqlHoldStore:
    """Held uploads in the keepdown database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def hold(
        self,
        *,
        organisation: str,
        key_id: str,
        content_ref: str,
        hashes: UploadHashes,
        match: HoldMatch,
        now: datetime,
    ) -> tuple[Hold, bool]:
        with storage_errors("holding an upload"), self.engine.begin() as conn:
            org_id = conn.execute(
                select(organisations.c.id).where(organisations.c.name == organisation)
            ).scalar()
            bank_id = conn.execute(select(banks.c.id).where(banks.c.name == match.bank)).scalar()
            if org_id is None or bank_id is None:
                raise NotFound("unknown organisation or bank", bank=match.bank)
            earlier = conn.execute(
                select(_h.c.id)
                .where(
                    _h.c.organisation_id == org_id,
                    _h.c.sha256 == hashes.sha256,
                    _h.c.bank_id == bank_id,
                )
                .order_by(_h.c.id)
            ).scalar()
            if earlier is not None:
                return self._get(conn, earlier), False
            new_id = conn.execute(
                insert(_h)
                .returning(_h.c.id)
                .values(
                    organisation_id=org_id,
                    key_id=key_id,
                    content_ref=content_ref,
                    md5=hashes.md5,
                    sha256=hashes.sha256,
                    pdq=hashes.pdq,
                    quality=hashes.quality,
                    bank_id=bank_id,
                    entry_id=match.entry_id,
                    signal_type=match.signal_type,
                    match_type=match.match_type,
                    distance=match.distance,
                    variant=match.variant,
                    state=HoldState.HELD.value,
                    held_at=now,
                )
            ).scalar_one()
            return self._get(conn, new_id), True

    def _get(self, conn: Any, hold_id: int) -> Hold:
        row = conn.execute(_QUERY.where(_h.c.id == hold_id)).first()
        if row is None:
            raise NotFound("no such held upload", hold=hold_id)
        return _hold(row)

    def get(self, hold_id: int) -> Hold:
        with storage_errors("reading a held upload"), self.engine.connect() as conn:
            return self._get(conn, hold_id)

    def waiting(self, limit: int = 100) -> list[Hold]:
        query = _QUERY.where(_h.c.state == HoldState.HELD.value).order_by(_h.c.held_at, _h.c.id)
        with storage_errors("listing held uploads"), self.engine.connect() as conn:
            return [_hold(r) for r in conn.execute(query.limit(limit))]

    def recent(self, *, organisation: str | None = None, limit: int = 100) -> list[Hold]:
        query = _QUERY.order_by(_h.c.id.desc()).limit(limit)
        if organisation is not None:
            query = query.where(organisations.c.name == organisation)
        with storage_errors("listing held uploads"), self.engine.connect() as conn:
            return [_hold(r) for r in conn.execute(query)]

    def decide(self, hold_id: int, state: HoldState, *, by: str, note: str, now: datetime) -> Hold:
        with storage_errors("deciding a held upload"), self.engine.begin() as conn:
            changed = conn.execute(
                update(_h)
                .where(_h.c.id == hold_id, _h.c.state == HoldState.HELD.value)
                .values(state=state.value, decided_by=by, decided_at=now, note=note)
            ).rowcount
            hold = self._get(conn, hold_id)
        if not changed:
            raise Conflict(f"this upload was already decided ({hold.state.value})")
        return hold

    def entry_key(self, hold_id: int) -> HashKey:
        query = (
            select(bank_entries.c.signal_type, bank_entries.c.value)
            .join(_h, _h.c.entry_id == bank_entries.c.id)
            .where(_h.c.id == hold_id)
        )
        with storage_errors("reading a held upload's entry"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound("the bank entry of this held upload is gone", hold=hold_id)
        return (row.signal_type, row.value)

    def confirmed_without_request(self) -> list[Hold]:
        has_request = select(removal_requests.c.hold_id).where(
            removal_requests.c.hold_id.is_not(None)
        )
        query = _QUERY.where(
            _h.c.state == HoldState.CONFIRMED.value, _h.c.id.not_in(has_request)
        ).order_by(_h.c.id)
        with storage_errors("listing confirmed holds"), self.engine.connect() as conn:
            return [_hold(r) for r in conn.execute(query)]
